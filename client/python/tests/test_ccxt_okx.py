"""The ccxt adapter against a real okx-vaultd, when ccxt is installed.

Each private request goes through ccxt twice, once signed by the vault and once
by ccxt holding the secret itself, with the same clock; what would go on the
wire (url, method, body, headers) must be identical. Nothing reaches OKX: the
recording class below answers at ccxt's fetch().
"""

import json
import unittest

from okx_vault import VaultError
from reference import okx_sign
from vault_daemon import VaultDaemon

CCXT_MISSING = None
try:
    import ccxt
except ImportError as error:
    ccxt = None
    CCXT_MISSING = (f"needs Python ccxt, which does not import here ({error}): the ccxt adapter tests are skipped; "
                    "see shared/third_party/README.md, or pip install ccxt")

API_KEY = "37c5e7d2-96a3-4d4f-9d4b-1f0a2b3c8418"
SECRET = "SECRET-ccxt-py-0f1e2d3c4b5a69788796a5b4c3d2e1f0"
PASSPHRASE = "PASSPHRASE-ccxt-py-Kk4"


@unittest.skipIf(ccxt is None, CCXT_MISSING)
class CcxtOkxTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        from okx_vault.ccxt_okx import vault_okx

        cls.vault_okx = staticmethod(vault_okx)
        cls.daemon = VaultDaemon()
        cls.daemon.add_key("main", API_KEY, SECRET, PASSPHRASE)
        cls.daemon.add_key("demo", API_KEY, SECRET, PASSPHRASE, "--simulated")

        class Recording(ccxt.okx):
            def fetch(self, url, method="GET", headers=None, body=None):
                self.sent = {"url": url, "method": method, "headers": self.prepare_request_headers(headers), "body": body}
                return {"code": "0", "msg": "", "data": []}

        cls.Recording = Recording

    @classmethod
    def tearDownClass(cls):
        cls.daemon.close()

    def pair(self, key="main", sandbox=False):
        now = self.Recording().milliseconds()
        vaulted = self.vault_okx(self.Recording, key, self.daemon.socket)
        direct = self.Recording({"apiKey": API_KEY, "secret": SECRET, "password": PASSPHRASE})
        for exchange in (vaulted, direct):
            exchange.milliseconds = lambda: now
            exchange.set_sandbox_mode(sandbox)
        return vaulted, direct

    def assert_same_request(self, call, key="main", sandbox=False):
        vaulted, direct = self.pair(key, sandbox)
        call(vaulted)
        call(direct)
        self.assertEqual(vaulted.sent, direct.sent)
        self.assertNotIn(SECRET, repr(vars(vaulted)) + repr(vars(vaulted.okx_vault)))
        self.assertFalse(vaulted.secret)
        self.assertFalse(vaulted.password)
        return vaulted.sent

    def test_get_with_query(self):
        sent = self.assert_same_request(lambda e: e.private_get_account_balance({"ccy": "BTC,ETH"}))
        self.assertIn("?ccy=BTC%2CETH", sent["url"])
        headers = sent["headers"]
        path = sent["url"][len("https://www.okx.com"):]
        self.assertEqual(headers["OK-ACCESS-SIGN"], okx_sign(SECRET, headers["OK-ACCESS-TIMESTAMP"] + "GET" + path))

    def test_post_with_json_body(self):
        order = {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit", "px": "1", "sz": "0.01",
                 "clOrdId": "bot1"}
        sent = self.assert_same_request(lambda e: e.private_post_trade_order(dict(order)))
        self.assertEqual(json.loads(sent["body"]), order)

    def test_post_batch_body(self):
        orders = [{"instId": "BTC-USDT", "side": "buy", "sz": "1", "clOrdId": f"b{i}"} for i in range(2)]
        self.assert_same_request(lambda e: e.private_post_trade_batch_orders([dict(o) for o in orders]))

    def test_demo_mode(self):
        sent = self.assert_same_request(lambda e: e.private_get_account_balance(), key="demo", sandbox=True)
        self.assertEqual(sent["headers"]["x-simulated-trading"], "1")

    def test_demo_key_without_sandbox_is_refused(self):
        vaulted, _ = self.pair(key="demo", sandbox=False)
        with self.assertRaises(ccxt.AuthenticationError):
            vaulted.private_get_account_balance()

    def test_vault_refusal_is_a_ccxt_permission_error(self):
        vaulted, _ = self.pair()
        with self.assertRaises(ccxt.PermissionDenied) as raised:
            vaulted.private_post_asset_withdrawal({"ccy": "BTC"})
        self.assertIsInstance(raised.exception.__cause__, VaultError)

    def test_a_secret_given_to_ccxt_is_refused(self):
        with self.assertRaises(ValueError):
            self.vault_okx(ccxt.okx, "main", self.daemon.socket, {"secret": SECRET})


if __name__ == "__main__":
    unittest.main()
