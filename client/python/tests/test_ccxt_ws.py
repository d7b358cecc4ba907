"""ccxt.pro okx's private WebSocket login through the daemon's ws-login, with the
real ccxt.pro against a stand-in OKX WebSocket on 127.0.0.1 (aiohttp's, which
ccxt.pro itself uses) that checks the login as OKX does: the api key and
passphrase, the sign over timestamp + GET/users/self/verify, the timestamp
within 30 s. Then watchBalance, watchOrders, watchPositions and createOrderWs
on the logged-in connection. Python ccxt 4.5.54 is the only version tested
(see test_ccxt_okx)."""

import asyncio
import base64
import hashlib
import hmac
import json
import time
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


def login_refusal(args):
    """None if OKX would accept the login's arguments, else why not."""
    if args.get("apiKey") != API_KEY:
        return "unknown api key"
    if args.get("passphrase") != PASSPHRASE:
        return "wrong passphrase"
    try:
        if abs(float(args.get("timestamp", "")) - time.time()) > 30:
            return "timestamp expired"
    except ValueError:
        return "bad timestamp"
    if not hmac.compare_digest(args.get("sign", ""), okx_ws_sign(SECRET, args["timestamp"])):
        return "invalid sign"
    return None


POSITION = {"instType": "MARGIN", "instId": "BTC-USDT", "posId": "616057041198907393", "posSide": "net", "pos": "0.5",
            "posCcy": "BTC", "ccy": "USDT", "avgPx": "20000", "mgnMode": "cross", "lever": "3", "upl": "1",
            "markPx": "20002", "notionalUsd": "10000", "liqPx": "", "imr": "", "mmr": "", "margin": "", "mgnRatio": "",
            "cTime": "1700000000000", "uTime": "1700000000000"}


class WsStandIn:
    """OKX's private WebSocket, as far as a login, the account, orders and
    positions channels and the order operation go. Every login frame it
    received is recorded (with its URL's path and query, and whether it was
    accepted), and every order frame."""

    def __init__(self):
        self.logins = []
        self.paths = []
        self.refusals = []
        self.orders = []

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
                self.paths.append(request.path_qs)
                refusal = login_refusal(frame["args"][0])
                self.refusals.append(refusal)
                logged_in = refusal is None
                if logged_in:
                    await ws.send_json({"event": "login", "code": "0", "msg": "", "connId": "a1"})
                else:
                    await ws.send_json({"event": "error", "code": "60009", "msg": f"Login failed: {refusal}",
                                        "connId": "a1"})
            elif frame.get("op") in ("order", "batch-orders"):
                self.orders.append(frame)
                if not logged_in:
                    await ws.send_json({"id": frame["id"], "op": frame["op"], "code": "60011", "msg": "Please log in",
                                        "data": []})
                    continue
                await ws.send_json({"id": frame["id"], "op": frame["op"], "code": "0", "msg": "", "data": [
                    {"ordId": str(2001 + i), "clOrdId": order.get("clOrdId", ""), "tag": order.get("tag", ""),
                     "ts": "1700000000000", "sCode": "0", "sMsg": ""} for i, order in enumerate(frame["args"])]})
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
                    elif arg["channel"] == "positions":
                        await ws.send_json({"arg": {"channel": "positions", "instType": "ANY", "uid": "1"},
                                            "data": [POSITION]})
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

    def exchange(self, key="main", sandbox=False, **config):
        exchange = ccxt.pro.okx({
            "secret": "okx-vault:" + key, "enableRateLimit": False, **config,
            "options": {"okxVaultSocket": self.daemon.socket, "fetchMarkets": {"types": ["spot"]}}})
        exchange.set_sandbox_mode(sandbox)  # before the URLs: it swaps them for the demo ones
        exchange.urls["api"] = {"rest": self.okx.url, "ws": self.ws.url}
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

    async def test_watch_positions_and_create_order_ws_after_the_daemons_login(self):
        exchange = self.exchange()
        positions = await asyncio.wait_for(exchange.watch_positions(), 20)
        self.assertEqual(positions[0]["symbol"], "BTC/USDT")
        self.assertEqual(positions[0]["contracts"], 0.5)
        order = await asyncio.wait_for(exchange.create_order_ws("BTC/USDT", "limit", "buy", 0.001, 1000,
                                                                {"op": "order"}), 20)
        self.assertEqual(order["id"], "2001")
        (frame,) = self.ws.orders
        self.assertEqual(frame["op"], "order")
        self.assertEqual(frame["args"][0]["instId"], "BTC-USDT")
        self.assertEqual(frame["args"][0]["px"], "1000")
        self.assertEqual(self.ws.refusals, [None], "one accepted login before the order")

    async def test_a_demo_key_in_sandbox_mode_logs_in_with_the_demo_frame(self):
        exchange = self.exchange("demo", sandbox=True)
        balance = await asyncio.wait_for(exchange.watch_balance(), 20)
        self.assertEqual(balance["USDT"]["free"], 100)
        self.assertEqual(self.ws.refusals, [None])
        self.assertEqual(self.ws.paths, ["/ws/v5/private?brokerId=9999"])
        async with AsyncClient(self.daemon.socket) as vault:
            daemons = await vault.ws_login_frame("demo", self.ws.logins[0]["args"][0]["timestamp"])
        self.assertEqual(self.ws.logins[0], daemons)

    async def test_the_stand_in_refuses_a_login_outside_30_seconds(self):
        def login(timestamp):
            return {"apiKey": API_KEY, "passphrase": PASSPHRASE, "timestamp": timestamp,
                    "sign": okx_ws_sign(SECRET, timestamp)}

        now = int(time.time())
        self.assertEqual(login_refusal(login(str(now - 31))), "timestamp expired")
        self.assertEqual(login_refusal(login(str(now + 31))), "timestamp expired")
        self.assertIsNone(login_refusal(login(str(now))))

    async def test_the_real_api_key_with_the_vault_secret_logs_in(self):
        exchange = self.exchange(apiKey=API_KEY, password="okx-vault")
        balance = await asyncio.wait_for(exchange.watch_balance(), 20)
        self.assertEqual(balance["USDT"]["free"], 100)
        self.assertEqual(self.ws.refusals, [None])

    async def test_an_api_key_that_is_not_the_vault_keys_is_refused_before_the_login(self):
        # authenticate() alone: watch_balance would load the markets first, and
        # the REST request for the currencies would be refused before the login.
        exchange = self.exchange(apiKey="5a1f0b9c-0000-4d4f-9d4b-1f0a2b3c0000")
        with self.assertRaises(ccxt.AuthenticationError) as raised:
            await asyncio.wait_for(exchange.authenticate(), 20)
        self.assertIn("apiKey", str(raised.exception))
        self.assertEqual(self.ws.logins, [])

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
