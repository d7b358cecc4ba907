"""A stand-in for OKX's REST API on 127.0.0.1: canned public data, and private
requests checked as OKX checks them (OK-ACCESS-SIGN over timestamp, method,
path with query and body, with the secret of the OK-ACCESS-KEY; passphrase;
timestamp within 30 s). Every request it received is recorded."""

import base64
import datetime
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

INSTRUMENT = {"instType": "SPOT", "instId": "BTC-USDT", "uly": "", "instFamily": "", "baseCcy": "BTC",
              "quoteCcy": "USDT", "settleCcy": "", "ctVal": "", "ctMult": "", "ctValCcy": "", "optType": "",
              "stk": "", "listTime": "1548133413000", "expTime": "", "lever": "10", "tickSz": "0.1",
              "lotSz": "0.00000001", "minSz": "0.00001", "ctType": "", "alias": "", "state": "live",
              "maxLmtSz": "9999999999", "maxMktSz": "1000000"}
CURRENCIES = [{"ccy": "BTC", "chain": "BTC-Bitcoin", "name": "Bitcoin", "canDep": True, "canWd": True,
               "canInternal": True, "minWd": "0.0005", "maxWd": "500", "wdTickSz": "8", "minFee": "0.0001",
               "maxFee": "0.0002", "mainNet": True},
              {"ccy": "USDT", "chain": "USDT-TRC20", "name": "Tether", "canDep": True, "canWd": True,
               "canInternal": True, "minWd": "1", "maxWd": "1000000", "wdTickSz": "6", "minFee": "1",
               "maxFee": "2", "mainNet": False}]


def _ok(data):
    return 200, {"code": "0", "msg": "", "data": data}


class OkxStandIn:
    def __init__(self, credentials):
        """`credentials`: {api_key: (secret, passphrase)}."""
        self.credentials = credentials
        self.requests = []  # (method, path with query, headers as a dict, body text, verified)
        self.lock = threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self._answer()

            def do_POST(self):
                self._answer()

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                status, reply = standin.handle(self.command, self.path, dict(self.headers.items()), body)
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def private(self):
        return [r for r in self.requests if "OK-ACCESS-SIGN" in r[2]]

    def verify(self, method, path, headers, body):
        """None if OKX would accept the request's authentication, else why not."""
        key = headers.get("OK-ACCESS-KEY")
        if key not in self.credentials:
            return "unknown api key"
        secret, passphrase = self.credentials[key]
        if headers.get("OK-ACCESS-PASSPHRASE") != passphrase:
            return "wrong passphrase"
        timestamp = headers.get("OK-ACCESS-TIMESTAMP", "")
        try:
            when = datetime.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            return "bad timestamp"
        if abs((datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()) > 30:
            return "timestamp expired"
        expected = base64.b64encode(hmac.new(secret.encode(), (timestamp + method + path + body).encode(),
                                             hashlib.sha256).digest()).decode()
        return None if hmac.compare_digest(expected, headers.get("OK-ACCESS-SIGN", "")) else "invalid sign"

    def handle(self, method, path, headers, body):
        private = "OK-ACCESS-SIGN" in headers
        refused = self.verify(method, path, headers, body) if private else None
        with self.lock:
            self.requests.append((method, path, headers, body, private and refused is None))
        if refused:
            return 401, {"code": "50113", "msg": f"Invalid Sign ({refused})", "data": []}
        route = path.split("?")[0]
        if route == "/api/v5/public/instruments":
            return _ok([INSTRUMENT] if "instType=SPOT" in path else [])
        if route == "/api/v5/public/time":
            return _ok([{"ts": str(int(datetime.datetime.now().timestamp() * 1000))}])
        if not private:
            return 404, {"code": "50000", "msg": "not in the stand-in", "data": []}
        if route == "/api/v5/asset/currencies":
            return _ok(CURRENCIES)
        if route == "/api/v5/account/balance":
            return _ok([{"uTime": "1700000000000", "totalEq": "100", "details": [
                {"ccy": "USDT", "availBal": "100", "cashBal": "100", "frozenBal": "0", "eq": "100",
                 "uTime": "1700000000000"}]}])
        if route in ("/api/v5/trade/order", "/api/v5/trade/batch-orders") and method == "POST":
            orders = json.loads(body)
            return _ok([{"ordId": str(1001 + i), "clOrdId": order.get("clOrdId", ""), "tag": order.get("tag", ""),
                         "sCode": "0", "sMsg": ""} for i, order in enumerate(orders if isinstance(orders, list)
                                                                           else [orders])])
        return _ok([])
