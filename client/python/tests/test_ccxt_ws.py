"""ccxt.pro okx's private WebSocket login through the daemon's ws-login, with the
real ccxt.pro against a stand-in OKX WebSocket on 127.0.0.1 (aiohttp's, which
ccxt.pro itself uses) that checks the login as OKX does."""

import asyncio
import base64
import hashlib
import hmac
import json
import unittest

from ccxt_path import requires_ccxt
from okx_vault.aio import AsyncClient
from vault_and_okx import VaultAndOkx

try:
    import ccxt
    import ccxt.pro
    import okx_vault.ccxt_shim  # noqa: F401  (patches ccxt's okx classes)
    from aiohttp import WSMsgType, web
except ImportError:
    ccxt = None

API_KEY = "37c5e7d2-96a3-4d4f-9d4b-1f0a2b3c8418"
SECRET = "SECRET-ws-0a1b2c3d4e5f60718293a4b5c6d7e8f9"
PASSPHRASE = "PASSPHRASE-ws-Hh2"


def okx_ws_sign(secret, timestamp):
    return base64.b64encode(hmac.new(secret.encode(), (timestamp + "GET/users/self/verify").encode(),
                                     hashlib.sha256).digest()).decode()


class WsStandIn:
    """OKX's private WebSocket, as far as a login and the account and orders
    channels go. Every login frame it received is recorded."""

    def __init__(self):
        self.logins = []

    async def start(self):
        app = web.Application()
        app.router.add_get("/ws/v5/private", self.private)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}/ws/v5"

    async def stop(self):
        await self.runner.cleanup()

    async def private(self, request):
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        logged_in = False
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            if message.data == "ping":
                await ws.send_str("pong")
                continue
            frame = json.loads(message.data)
            if frame.get("op") == "login":
                self.logins.append(frame)
                args = frame["args"][0]
                logged_in = (args.get("apiKey") == API_KEY and args.get("passphrase") == PASSPHRASE
                             and hmac.compare_digest(args.get("sign", ""), okx_ws_sign(SECRET, args["timestamp"])))
                if logged_in:
                    await ws.send_json({"event": "login", "code": "0", "msg": "", "connId": "a1"})
                else:
                    await ws.send_json({"event": "error", "code": "60009", "msg": "Login failed.", "connId": "a1"})
            elif frame.get("op") == "subscribe":
                if not logged_in:
                    await ws.send_json({"event": "error", "code": "60011", "msg": "Please log in", "connId": "a1"})
                    continue
                for arg in frame["args"]:
                    await ws.send_json({"event": "subscribe", "arg": arg, "connId": "a1"})
                    if arg["channel"] == "account":
                        await ws.send_json({"arg": {"channel": "account", "uid": "1"}, "data": [{
                            "uTime": "1700000000000", "totalEq": "100", "details": [
                                {"ccy": "USDT", "availBal": "100", "cashBal": "100", "frozenBal": "0", "eq": "100",
                                 "uTime": "1700000000000"}]}]})
                    elif arg["channel"] == "orders":
                        await ws.send_json({"arg": {"channel": "orders", "instType": "ANY", "uid": "1"}, "data": [{
                            "instType": "SPOT", "instId": "BTC-USDT", "ordId": "1001", "clOrdId": "c1", "px": "1000",
                            "sz": "0.001", "ordType": "limit", "side": "buy", "state": "live", "accFillSz": "0",
                            "fillSz": "0", "avgPx": "", "cTime": "1700000000000", "uTime": "1700000000000",
                            "fee": "0", "feeCcy": "BTC", "tdMode": "cash", "tag": ""}]})
        return ws


@requires_ccxt
class CcxtProLoginTest(VaultAndOkx, unittest.IsolatedAsyncioTestCase):
    CREDENTIALS = (API_KEY, SECRET, PASSPHRASE)
    DEMO = True

    async def asyncSetUp(self):
        asyncio.get_running_loop().set_debug(False)  # ccxt's market loading takes its time
        self.ws = WsStandIn()
        await self.ws.start()
        self.addAsyncCleanup(self.ws.stop)

    def exchange(self, key="main"):
        exchange = ccxt.pro.okx({
            "secret": "okx-vault:" + key, "enableRateLimit": False,
            "urls": {"api": {"rest": self.okx.url, "ws": self.ws.url}},
            "options": {"okxVaultSocket": self.daemon.socket, "fetchMarkets": {"types": ["spot"]}}})
        self.addAsyncCleanup(exchange.close)
        return exchange

    async def test_watch_balance_and_orders_log_in_with_the_daemons_frame(self):
        exchange = self.exchange()
        balance = await asyncio.wait_for(exchange.watch_balance(), 20)
        self.assertEqual(balance["USDT"]["free"], 100)
        orders = await asyncio.wait_for(exchange.watch_orders(), 20)
        self.assertEqual(orders[0]["id"], "1001")
        (login,) = self.ws.logins  # one login serves both
        args = login["args"][0]
        self.assertEqual(args["sign"], okx_ws_sign(SECRET, args["timestamp"]))
        async with AsyncClient(self.daemon.socket) as vault:
            daemons = await vault.ws_login_frame("main", args["timestamp"])
        self.assertEqual(login, daemons)
        self.assertNotIn(SECRET, json.dumps(login))

    async def test_a_demo_key_without_sandbox_mode_does_not_log_in(self):
        exchange = self.exchange("demo")
        with self.assertRaises(ccxt.AuthenticationError):
            await asyncio.wait_for(exchange.authenticate(), 20)
        self.assertEqual(self.ws.logins, [])

    async def test_other_instances_log_in_with_their_own_secret(self):
        exchange = ccxt.pro.okx({"apiKey": API_KEY, "secret": SECRET, "password": PASSPHRASE, "enableRateLimit": False,
                                 "urls": {"api": {"rest": self.okx.url, "ws": self.ws.url}},
                                 "options": {"fetchMarkets": {"types": ["spot"]}}})
        self.addAsyncCleanup(exchange.close)
        balance = await asyncio.wait_for(exchange.watch_balance(), 20)
        self.assertEqual(balance["USDT"]["free"], 100)
        self.assertFalse(hasattr(exchange, "okx_vault"))


if __name__ == "__main__":
    unittest.main()
