"""The ccxt adapter (okx_vault.ccxt_okx, okx_vault.ccxt_shim) with the real
ccxt against a real okx-vaultd, sync ccxt.okx.

Each private request goes through ccxt twice, once signed by the vault and once
by ccxt holding the secret itself, with the same clock and the same random
order ids; what would go on the wire (url, method, body, headers) must be
identical. The recording class answers at ccxt's fetch(); the threaded test
and the errors' test send to a stand-in OKX on 127.0.0.1 that checks each
signature as OKX does.

Python ccxt: this runs against the one copy the test machines have, ccxt
4.5.54 (shared/third_party/ccxt-python; PyPI is out of their reach), and says
so in its output (test_the_ccxt_under_test). No other Python ccxt version is
tested. (The JavaScript suite runs against two.)
"""

import json
import os
import pwd
import socket
import sys
import threading
import unittest

from ccxt_path import requires_ccxt
from okx_standin import INSTRUMENT
import okx_vault
from okx_vault import VaultError
from reference import okx_sign
from vault_and_okx import VaultAndOkx
from vault_daemon import VaultDaemon

try:
    import ccxt
    import okx_vault.ccxt_shim  # noqa: F401  (patches ccxt's okx classes)
    from okx_vault.ccxt_okx import vault_okx
except ImportError:
    ccxt = None

API_KEY = "37c5e7d2-96a3-4d4f-9d4b-1f0a2b3c8418"
SECRET = "SECRET-ccxt-py-0f1e2d3c4b5a69788796a5b4c3d2e1f0"
PASSPHRASE = "PASSPHRASE-ccxt-py-Kk4"


def recording_class():
    class Recording(ccxt.okx):
        def fetch(self, url, method="GET", headers=None, body=None):
            self.sent = {"url": url, "method": method, "headers": self.prepare_request_headers(headers), "body": body}
            if url.endswith("/trade/order"):
                return {"code": "0", "msg": "", "data": [{"ordId": "1", "sCode": "0", "sMsg": ""}]}
            return {"code": "0", "msg": "", "data": []}

    return Recording


def pin(exchange, now):
    """The same clock and the same random parts of ccxt's requests."""
    exchange.milliseconds = lambda: now
    exchange.uuid16 = lambda: "0123456789abcdef"


@requires_ccxt
class CcxtOkxTest(unittest.TestCase):
    def test_the_ccxt_under_test(self):
        print(f"\nPython ccxt under test: {ccxt.__version__} ({ccxt.__file__})", file=sys.stderr)
        self.assertTrue(ccxt.__version__.startswith("4."), ccxt.__version__)

    @classmethod
    def setUpClass(cls):
        cls.daemon = VaultDaemon()
        cls.daemon.add_key("main", API_KEY, SECRET, PASSPHRASE)
        cls.daemon.add_key("demo", API_KEY, SECRET, PASSPHRASE, "--simulated")
        cls.Recording = recording_class()

    @classmethod
    def tearDownClass(cls):
        cls.daemon.close()

    def pair(self, key="main", sandbox=False, options=None, explicit=True):
        now = self.Recording().milliseconds()
        config = {"options": dict(options or {})}
        if explicit:
            vaulted = vault_okx(self.Recording, key, self.daemon.socket, config)
        else:  # the shim's way: nothing but the secret says it
            vaulted = self.Recording(dict(config, secret="okx-vault:" + key, options=dict(
                config["options"], okxVaultSocket=self.daemon.socket)))
        direct = self.Recording(dict(config, apiKey=API_KEY, secret=SECRET, password=PASSPHRASE))
        for exchange in (vaulted, direct):
            pin(exchange, now)
            exchange.set_sandbox_mode(sandbox)
        return vaulted, direct

    def assert_same_request(self, call, **kwargs):
        vaulted, direct = self.pair(**kwargs)
        call(vaulted)
        call(direct)
        self.assertEqual(vaulted.sent, direct.sent)
        self.assertNotIn(SECRET, repr(vars(vaulted)) + repr(vars(vaulted.okx_vault)))
        self.assertTrue(vaulted.secret.startswith("okx-vault:"))
        vaulted.close()
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

    def test_broker_tag_is_ccxts(self):
        def create_order(exchange):
            exchange.set_markets(exchange.parse_markets([INSTRUMENT]))
            exchange.create_order("BTC/USDT", "limit", "buy", 0.001, 1000)

        sent = self.assert_same_request(create_order)
        (body,) = json.loads(sent["body"])  # ccxt sends one order as a batch of one
        self.assertTrue(body["clOrdId"].startswith(body["tag"]))
        self.assertTrue(body["clOrdId"].endswith("0123456789abcdef"))

    def test_post_batch_body(self):
        orders = [{"instId": "BTC-USDT", "side": "buy", "sz": "1"}, {"instId": "BTC-USDT", "side": "buy", "sz": "2",
                                                                      "clOrdId": "b1"}]
        sent = self.assert_same_request(lambda e: e.private_post_trade_batch_orders([dict(o) for o in orders]))
        self.assertTrue(sent["body"].startswith("[{"))

    def test_time_difference_is_ccxts(self):
        sent = self.assert_same_request(lambda e: e.private_get_account_balance(), options={"timeDifference": 5000})
        self.assertNotEqual(sent["headers"]["OK-ACCESS-TIMESTAMP"], self.Recording().iso8601(self.Recording().milliseconds()))

    def test_the_okx_vault_secret_alone(self):
        self.assert_same_request(lambda e: e.private_get_account_balance({"ccy": "USDT"}), explicit=False)

    def test_fetch_currencies_asks_okx(self):
        sent = self.assert_same_request(lambda e: e.fetch_currencies())
        self.assertIn("/api/v5/asset/currencies", sent["url"])

    def test_demo_mode(self):
        sent = self.assert_same_request(lambda e: e.private_get_account_balance(), key="demo", sandbox=True)
        self.assertEqual(sent["headers"]["x-simulated-trading"], "1")

    def test_demo_key_without_sandbox_is_refused_before_signing(self):
        for key, sandbox in (("demo", False), ("main", True)):
            vaulted, _ = self.pair(key=key, sandbox=sandbox)
            before = self.sign_count(key)
            with self.assertRaises(ccxt.AuthenticationError):
                vaulted.private_get_account_balance()
            self.assertFalse(hasattr(vaulted, "sent"))
            self.assertEqual(self.sign_count(key), before, "nothing was signed")

    def sign_count(self, key):
        with okx_vault.Client(self.daemon.socket) as client:
            return {k["name"]: k["sign_count"] for k in client.list()}[key]

    def test_other_instances_are_untouched(self):
        direct = self.Recording({"apiKey": API_KEY, "secret": SECRET, "password": PASSPHRASE})
        direct.private_get_account_balance()
        self.assertFalse(hasattr(direct, "okx_vault"))
        self.assertEqual(direct.sent["headers"]["OK-ACCESS-PASSPHRASE"], PASSPHRASE)
        with self.assertRaises(ccxt.AuthenticationError):  # ccxt's own check, as ever
            self.Recording({"apiKey": API_KEY}).private_get_account_balance()

    def test_a_secret_given_to_ccxt_is_refused(self):
        with self.assertRaises(ValueError):
            vault_okx(ccxt.okx, "main", self.daemon.socket, {"secret": SECRET})

    def test_close_closes_the_vault_connection(self):
        vaulted, _ = self.pair()
        vaulted.private_get_account_balance()
        connection = vaulted.okx_vault._connection
        self.assertIsNotNone(connection)
        vaulted.close()
        self.assertIsNone(connection.sock)


@requires_ccxt
class CcxtOkxOverHttpTest(VaultAndOkx, unittest.TestCase):
    """ccxt sends to the stand-in OKX, which checks each signature."""

    CREDENTIALS = (API_KEY, SECRET, PASSPHRASE)

    def exchange(self, key="main", socket_path=None, **config):
        exchange = ccxt.okx({"secret": "okx-vault:" + key, "urls": {"api": {"rest": self.okx.url}}, "enableRateLimit": False,
                             "options": {"okxVaultSocket": socket_path or self.daemon.socket,
                                         "fetchMarkets": {"types": ["spot"]}}, **config})
        self.addCleanup(exchange.close)
        return exchange

    def test_the_real_api_key_and_any_password_with_the_vault_secret(self):
        # A config that keeps its apiKey and puts any password beside the
        # okx-vault: secret: the vault's passphrase is what OKX gets.
        for password in ("okx-vault", "not-the-passphrase"):
            exchange = self.exchange(apiKey=API_KEY, password=password)
            before = len(self.okx.private())
            self.assertEqual(exchange.fetch_balance()["USDT"]["free"], 100)  # markets and currencies first
            sent = self.okx.private()[before:]
            self.assertEqual([path.split("?")[0] for _, path, *_ in sent],
                             ["/api/v5/asset/currencies", "/api/v5/account/balance"])
            for _, _, headers, _, verified in sent:
                self.assertTrue(verified)
                self.assertEqual(headers["OK-ACCESS-PASSPHRASE"], PASSPHRASE)

    def test_an_api_key_that_is_not_the_vault_keys_is_refused_before_sending(self):
        exchange = self.exchange(apiKey="5a1f0b9c-0000-4d4f-9d4b-1f0a2b3c0000")
        before = len(self.okx.private())
        with self.assertRaises(ccxt.AuthenticationError) as raised:
            exchange.private_get_account_balance()
        self.assertIn("apiKey", str(raised.exception))
        self.assertEqual(len(self.okx.private()), before)

    def test_eight_threads_share_one_instance(self):
        exchange = self.exchange()
        exchange.load_markets()
        self.assertIn("BTC/USDT", exchange.markets)
        self.assertIn("BTC", exchange.currencies)  # fetch_currencies, a private request, worked
        before = len(self.okx.private())
        results, errors = [], []
        start = threading.Barrier(8)

        def work(thread):
            start.wait()
            for i in range(10):
                try:
                    if i % 2:
                        results.append(exchange.private_get_account_balance({"ccy": f"T{thread}R{i}"}))
                    else:
                        results.append(exchange.create_order("BTC/USDT", "limit", "buy", 0.001, 1000 + thread,
                                                             {"clOrdId": f"t{thread}r{i}"}))
                except Exception as error:  # noqa: BLE001 (reported below)
                    errors.append(f"thread {thread} request {i}: {error!r}")

        threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(results), 80)
        sent = self.okx.private()[before:]
        self.assertEqual(len(sent), 80)
        self.assertTrue(all(verified for *_, verified in sent), "every request carried its own valid signature")
        self.assertEqual(len({headers["OK-ACCESS-SIGN"] for _, _, headers, _, _ in sent}), 80)

    def test_a_refusal_is_permission_denied_naming_the_rule(self):
        exchange = self.exchange()
        with self.assertRaises(ccxt.PermissionDenied) as raised:
            exchange.private_post_asset_withdrawal({"ccy": "BTC", "amt": "1", "dest": "4", "toAddr": "x"})
        self.assertIn("builtin deny POST /api/v5/asset/withdrawal", str(raised.exception))
        self.assertIsInstance(raised.exception.__cause__, VaultError)

    def test_an_unknown_key_is_an_authentication_error(self):
        with self.assertRaises(ccxt.AuthenticationError):
            self.exchange("nope").fetch_balance()

    def test_a_timestamp_far_off_is_an_invalid_nonce(self):
        exchange = self.exchange()
        exchange.options["timeDifference"] = 120_000
        with self.assertRaises(ccxt.InvalidNonce):
            exchange.private_get_account_balance()

    def test_a_locked_vault_is_exchange_not_available(self):
        daemon = VaultDaemon()
        self.addCleanup(daemon.close)
        daemon.add_key("main", API_KEY, SECRET, PASSPHRASE)
        exchange = self.exchange(socket_path=daemon.socket)
        self.assertEqual(exchange.fetch_balance()["USDT"]["free"], 100)
        daemon.cli("lock").check_returncode()
        with self.assertRaises(ccxt.ExchangeNotAvailable) as raised:
            exchange.fetch_balance()
        self.assertIn("vault_locked", str(raised.exception))
        daemon.cli("unlock").check_returncode()
        self.assertEqual(exchange.fetch_balance()["USDT"]["free"], 100)

    def test_a_stopped_daemon_is_a_network_error(self):
        daemon = VaultDaemon()
        self.addCleanup(daemon.close)
        daemon.add_key("main", API_KEY, SECRET, PASSPHRASE)
        exchange = self.exchange(socket_path=daemon.socket)
        exchange.fetch_balance()
        daemon.stop()
        with self.assertRaises(ccxt.NetworkError) as raised:
            exchange.fetch_balance()
        self.assertNotIsInstance(raised.exception, ccxt.ExchangeNotAvailable)

    def test_rate_limited_is_permission_denied_naming_the_rule(self):
        # The daemon's 429 rate_limited, from a socket that answers as it does.
        path = str(self.daemon.dir / "rate-limited.sock")
        server = socket.socket(socket.AF_UNIX)
        server.bind(path)
        server.listen()
        self.addCleanup(server.close)
        keys = json.dumps({"keys": [{"name": "main", "simulated": False}]}).encode()
        refusal = json.dumps({"error": {"code": "rate_limited", "message": "too many signs",
                                        "rule": "user bot: rate 10/s"}}).encode()

        def answer():
            connection, _ = server.accept()
            with connection:
                for status, body in (("200 OK", keys), ("429 Too Many Requests", refusal)):
                    connection.recv(65536)
                    connection.sendall(f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)

        thread = threading.Thread(target=answer)
        thread.start()
        with self.assertRaises(ccxt.PermissionDenied) as raised:
            self.exchange(socket_path=path).private_get_account_balance()
        thread.join()
        self.assertIn("user bot: rate 10/s", str(raised.exception))
        self.assertEqual(raised.exception.__cause__.status, 429)


@requires_ccxt
class CcxtOkxUnderTradingLimitsTest(VaultAndOkx, unittest.TestCase):
    """ccxt's own order bodies, as ccxt builds them, through a grant with
    trading limits: the vault's strict body reader takes them, signs what the
    limits allow, and refuses the rest as PermissionDenied naming the rule,
    with nothing sent to OKX."""

    CREDENTIALS = (API_KEY, SECRET, PASSPHRASE)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        user = pwd.getpwuid(os.getuid()).pw_name
        out = cls.daemon.cli("grant", "main", "--user", user, "--allow", "GET /api/v5/", "--allow",
                             "POST /api/v5/trade/", "--inst", "BTC-USDT", "--max-sz", "BTC-USDT=0.01",
                             "--ord-types", "limit,post_only", "--orders-per-minute", "1000")
        if out.returncode != 0:
            raise RuntimeError(f"okx-vault grant failed: {out.stderr}")

    def setUp(self):
        self.exchange = ccxt.okx({"secret": "okx-vault:main", "urls": {"api": {"rest": self.okx.url}},
                                  "enableRateLimit": False,
                                  "options": {"okxVaultSocket": self.daemon.socket, "fetchMarkets": {"types": ["spot"]}}})
        self.addCleanup(self.exchange.close)
        self.exchange.load_markets()

    def refused(self, call):
        before = len(self.okx.private())
        with self.assertRaises(ccxt.PermissionDenied) as raised:
            call()
        self.assertEqual(len(self.okx.private()), before, "a refused order reached OKX")
        return str(raised.exception)

    def test_an_order_within_the_limits_is_signed(self):
        before = len(self.okx.private())
        self.exchange.create_order("BTC/USDT", "limit", "buy", 0.001, 1000, {"clOrdId": "inlimits1"})
        sent = self.okx.private()[before:]
        self.assertEqual(len(sent), 1)
        # ccxt 4.5 places even a single order through batch-orders.
        self.assertIn(sent[0][1], ("/api/v5/trade/order", "/api/v5/trade/batch-orders"))
        self.assertTrue(sent[0][-1], "the stand-in OKX verified the signature")

    def test_an_order_over_the_size_is_refused_naming_the_rule(self):
        message = self.refused(lambda: self.exchange.create_order("BTC/USDT", "limit", "buy", 0.5, 1000))
        self.assertIn("sz 0.5 > max 0.01 for BTC-USDT", message)

    def test_an_order_type_not_allowed_is_refused_naming_the_rule(self):
        message = self.refused(lambda: self.exchange.create_order("BTC/USDT", "market", "sell", 0.001))
        self.assertIn("ordType market", message)

    def test_a_batch_with_one_order_over_the_size_is_refused_whole(self):
        orders = [{"symbol": "BTC/USDT", "type": "limit", "side": "buy", "amount": 0.001, "price": 1000},
                  {"symbol": "BTC/USDT", "type": "limit", "side": "buy", "amount": 0.02, "price": 1000}]
        message = self.refused(lambda: self.exchange.create_orders(orders))
        self.assertIn("sz 0.02 > max 0.01", message)


if __name__ == "__main__":
    unittest.main()
