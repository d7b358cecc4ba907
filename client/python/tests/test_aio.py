"""okx_vault.aio.AsyncClient against a real okx-vaultd, and ccxt.async_support.okx
signing through it (with the real ccxt, sending to a stand-in OKX)."""

import asyncio
import json
import unittest

from ccxt_path import requires_ccxt
from okx_vault import VaultError
from okx_vault.aio import AsyncClient
from reference import now_iso, okx_sign
from vault_and_okx import VaultAndOkx
from vault_daemon import VaultDaemon

try:
    import ccxt
    import ccxt.async_support
    import okx_vault.ccxt_shim  # noqa: F401  (patches ccxt's okx classes)
    from okx_vault.ccxt_okx import vault_okx
except ImportError:
    ccxt = None

API_KEY = "37c5e7d2-96a3-4d4f-9d4b-1f0a2b3c8418"
SECRET = "SECRET-aio-7a1c2e3f4d5b6a798897a6b5c4d3e2f1"
PASSPHRASE = "PASSPHRASE-aio-Jj3"


class Ticker:
    """A task that counts while the event loop is free to run it."""

    def __init__(self):
        self.ticks = 0
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self):
        while True:
            self.ticks += 1
            await asyncio.sleep(0)

    def stop(self):
        self.task.cancel()


class AsyncClientTest(unittest.IsolatedAsyncioTestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = VaultDaemon("--idle-timeout-ms", "300")
        cls.daemon.add_key("main", API_KEY, SECRET, PASSPHRASE)

    @classmethod
    def tearDownClass(cls):
        cls.daemon.close()

    async def asyncSetUp(self):
        self.client = AsyncClient(self.daemon.socket)

    async def asyncTearDown(self):
        await self.client.aclose()

    async def test_status_list_sign_ws_login(self):
        self.assertEqual((await self.client.status())["locked"], False)
        self.assertEqual([k["name"] for k in await self.client.list()], ["main"])
        ts = now_iso()
        reply = await self.client.sign("main", "POST", "/api/v5/trade/order", '{"instId":"BTC-USDT"}', ts)
        self.assertEqual(reply["headers"]["OK-ACCESS-SIGN"],
                         okx_sign(SECRET, ts + 'POST/api/v5/trade/order{"instId":"BTC-USDT"}'))
        frame = json.loads(await self.client.ws_login("main"))
        args = frame["args"][0]
        self.assertEqual(args["sign"], okx_sign(SECRET, args["timestamp"] + "GET/users/self/verify"))

    async def test_fifty_signs_gathered_leave_the_loop_free(self):
        ticker = Ticker()
        seen = []

        async def sign(i):
            path = f"/api/v5/account/balance?ccy=C{i}"
            before = ticker.ticks
            reply = await self.client.sign("main", "GET", path)
            seen.append(ticker.ticks - before)
            self.assertEqual(reply["headers"]["OK-ACCESS-SIGN"], okx_sign(SECRET, reply["timestamp"] + "GET" + path))

        start = ticker.ticks
        await asyncio.gather(*(sign(i) for i in range(50)))
        ticker.stop()
        self.assertEqual(len(seen), 50)
        self.assertGreater(ticker.ticks, start)
        # Each sign waited for its reply with the loop free: the ticker ran meanwhile.
        self.assertTrue(all(ticks > 0 for ticks in seen), seen)
        self.assertLessEqual(len(self.client._idle), self.client.max_connections)

    async def test_errors_carry_the_daemon_code(self):
        with self.assertRaises(VaultError) as raised:
            await self.client.sign("main", "POST", "/api/v5/asset/withdrawal", '{"ccy":"BTC"}')
        self.assertEqual((raised.exception.code, raised.exception.status), ("policy_denied", 403))
        self.assertEqual(raised.exception.rule, "builtin deny POST /api/v5/asset/withdrawal")
        with self.assertRaises(VaultError) as raised:
            await self.client.sign("nope", "GET", "/api/v5/account/balance")
        self.assertEqual(raised.exception.code, "key_not_found")
        async with AsyncClient(str(self.daemon.dir / "missing.sock")) as missing:
            with self.assertRaises(VaultError) as raised:
                await missing.status()
        self.assertEqual(raised.exception.code, "unreachable")

    async def test_a_daemon_that_does_not_answer_is_unreachable_after_the_timeout(self):
        path = str(self.daemon.dir / "silent.sock")
        accepted = []
        server = await asyncio.start_unix_server(lambda reader, writer: accepted.append(writer), path)
        try:
            async with AsyncClient(path, timeout=0.3) as silent:
                with self.assertRaises(VaultError) as raised:
                    await silent.status()
            self.assertEqual(raised.exception.code, "unreachable")
            self.assertEqual(silent._idle, [])  # a connection left mid-reply is not used again
            # A call the program cancels stays cancelled: only the client's own deadline is a timeout.
            async with AsyncClient(path, timeout=30) as silent:
                call = asyncio.ensure_future(silent.status())
                await asyncio.sleep(0.1)
                call.cancel()
                with self.assertRaises(asyncio.CancelledError):
                    await call
                self.assertEqual((silent._idle, silent._busy), ([], set()))
        finally:
            for writer in accepted:
                writer.close()
            server.close()
            await server.wait_closed()

    async def test_reconnects_after_the_daemon_closed_an_idle_connection(self):
        await self.client.status()
        (first,) = self.client._idle
        await asyncio.sleep(0.6)  # past --idle-timeout-ms 300
        self.assertEqual((await self.client.status())["locked"], False)
        self.assertIsNot(self.client._idle[0], first)

    async def test_aclose_closes_every_connection(self):
        await asyncio.gather(*(self.client.status() for _ in range(4)))
        connections = list(self.client._idle)
        self.assertGreater(len(connections), 1)
        async with self.client:
            pass
        self.assertEqual(self.client._idle, [])
        self.assertTrue(all(c.writer.is_closing() for c in connections))


@requires_ccxt
class AsyncCcxtTest(VaultAndOkx, unittest.IsolatedAsyncioTestCase):
    CREDENTIALS = (API_KEY, SECRET, PASSPHRASE)

    async def asyncSetUp(self):
        # ccxt's own synchronous work (loading markets) takes longer than
        # asyncio's debug mode likes a step to take: not what is tested here.
        asyncio.get_running_loop().set_debug(False)

    def exchange(self, socket_path=None, **config):
        exchange = ccxt.async_support.okx(dict({
            "secret": "okx-vault:main", "urls": {"api": {"rest": self.okx.url}}, "enableRateLimit": False,
            "options": {"okxVaultSocket": socket_path or self.daemon.socket, "fetchMarkets": {"types": ["spot"]}}},
            **config))
        self.addAsyncCleanup(exchange.close)
        return exchange

    async def test_a_request_through_the_vault_equals_ccxts_own(self):
        vaulted = vault_okx(ccxt.async_support.okx, "main", self.daemon.socket,
                            {"urls": {"api": {"rest": self.okx.url}}})
        self.addAsyncCleanup(vaulted.close)
        direct = ccxt.async_support.okx({"apiKey": API_KEY, "secret": SECRET, "password": PASSPHRASE,
                                          "urls": {"api": {"rest": self.okx.url}}})
        self.addAsyncCleanup(direct.close)
        now = direct.milliseconds()
        calls = (lambda e: e.private_get_account_balance({"ccy": "BTC,USDT"}),
                 lambda e: e.private_post_trade_order({"instId": "BTC-USDT", "tdMode": "cash", "side": "buy",
                                                       "ordType": "limit", "px": "1", "sz": "1"}),
                 lambda e: e.private_post_trade_batch_orders([{"instId": "BTC-USDT", "side": "sell", "sz": "1"}]))
        for call in calls:
            sent = []
            for exchange in (vaulted, direct):
                exchange.milliseconds = lambda: now
                exchange.uuid16 = lambda: "0123456789abcdef"
                await call(exchange)
                sent.append(self.okx.requests[-1])
            self.assertEqual(sent[0], sent[1])
            self.assertTrue(sent[0][4], "the stand-in verified the signature")

    async def test_fifty_requests_gathered_leave_the_loop_free(self):
        exchange = self.exchange()
        await exchange.load_markets()
        self.assertIn("BTC", exchange.currencies)
        ticker = Ticker()
        vault = exchange.okx_vault
        seen = []
        sign = vault.sign

        async def timed_sign(*args, **kwargs):
            before = ticker.ticks
            try:
                return await sign(*args, **kwargs)
            finally:
                seen.append(ticker.ticks - before)

        vault.sign = timed_sign
        before = len(self.okx.private())
        results = await asyncio.gather(*(exchange.private_get_account_balance({"ccy": f"C{i}"}) for i in range(50)))
        ticker.stop()
        self.assertEqual(len(results), 50)
        self.assertEqual(len(seen), 50)
        self.assertTrue(all(ticks > 0 for ticks in seen), "the loop ran while each sign waited")
        sent = self.okx.private()[before:]
        self.assertEqual(len(sent), 50)
        self.assertTrue(all(verified for *_, verified in sent))

    async def test_errors_are_ccxts(self):
        exchange = self.exchange()
        with self.assertRaises(ccxt.PermissionDenied) as raised:
            await exchange.private_post_asset_withdrawal({"ccy": "BTC"})
        self.assertIn("builtin deny POST /api/v5/asset/withdrawal", str(raised.exception))
        with self.assertRaises(ccxt.NetworkError):
            await self.exchange(str(self.daemon.dir / "missing.sock")).fetch_balance()
        exchange.secret = "okx-vault:nope"
        with self.assertRaises(ccxt.AuthenticationError):
            await exchange.fetch_balance()

    async def test_close_closes_the_vault_connections(self):
        exchange = self.exchange()
        await exchange.fetch_balance()
        connections = list(exchange.okx_vault._idle)
        self.assertTrue(connections)
        await exchange.close()
        self.assertTrue(all(c.writer.is_closing() for c in connections))


if __name__ == "__main__":
    unittest.main()
