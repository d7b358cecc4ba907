"""okx_vault.Client against a real okx-vaultd."""

import json
import os
import socket
import threading
import time
import unittest

from okx_vault import DEFAULT_SOCKET, Client, VaultError, resolve_socket_path
from reference import now_iso, okx_sign, vectors
from vault_daemon import VaultDaemon

API_KEY = "37c5e7d2-96a3-4d4f-9d4b-1f0a2b3c8418"
SECRET = "SECRET-py-5d0c1e8f7a2b4c6d9e0f1a2b3c4d5e6f"
PASSPHRASE = "PASSPHRASE-py-Qw7-zR2"
DEMO_API_KEY = "5a1f0b9c-0000-4d4f-9d4b-1f0a2b3c0000"
DEMO_SECRET = "SECRET-py-demo-77aa55bb33cc11dd"
DEMO_PASSPHRASE = "PASSPHRASE-py-demo-Zz9"


class ClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = VaultDaemon("--idle-timeout-ms", "300")
        cls.daemon.add_key("main", API_KEY, SECRET, PASSPHRASE)
        cls.daemon.add_key("demo", DEMO_API_KEY, DEMO_SECRET, DEMO_PASSPHRASE, "--simulated")
        cls.seen = []  # every reply, to check that no secret was ever in one

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        everything = "".join(cls.seen).encode() + b"".join(cls.daemon.state_files().values())
        for secret in (SECRET, DEMO_SECRET):
            assert secret.encode() not in everything, "a secret leaked into a reply, the log or a state file"
        cls.daemon.close()

    def setUp(self):
        self.client = Client(self.daemon.socket)
        self.addCleanup(self.client.close)

    def sign(self, *args, **kwargs):
        reply = self.client.sign(*args, **kwargs)
        self.seen.append(json.dumps(reply))
        return reply

    def key_names(self):
        return [k["name"] for k in self.client.list()]

    def test_status(self):
        status = self.client.status()
        self.assertEqual(status["locked"], False)
        self.assertEqual(status["keys"], len(self.key_names()))
        self.assertIsInstance(status["version"], str)

    def test_list_shows_metadata_only(self):
        keys = {k["name"]: k for k in self.client.list()}
        self.seen.append(json.dumps(keys))
        self.assertEqual(keys["main"]["api_key"], "37c5…8418")
        self.assertEqual(keys["main"]["simulated"], False)
        self.assertEqual(keys["demo"]["simulated"], True)
        self.assertNotIn(PASSPHRASE, json.dumps(keys))

    def test_sign_get_with_query_matches_an_independent_hmac(self):
        path = "/api/v5/account/balance?ccy=BTC,ETH&type=1"
        reply = self.sign("main", "GET", path)
        headers = reply["headers"]
        ts = reply["timestamp"]
        self.assertEqual(headers, {
            "OK-ACCESS-KEY": API_KEY,
            "OK-ACCESS-PASSPHRASE": PASSPHRASE,
            "OK-ACCESS-TIMESTAMP": ts,
            "OK-ACCESS-SIGN": okx_sign(SECRET, ts + "GET" + path),
        })

    def test_sign_post_signs_the_body_byte_for_byte(self):
        body = '{"instId":"BTC-USDT", "sz":"1",\n "tag":"caf\u00e9 \u20ac \\u00e9"}'
        ts = now_iso()
        reply = self.sign("main", "POST", "/api/v5/trade/order", body, timestamp=ts)
        self.assertEqual(reply["timestamp"], ts)
        self.assertEqual(reply["headers"]["OK-ACCESS-SIGN"], okx_sign(SECRET, ts + "POST/api/v5/trade/order" + body))
        self.assertEqual(reply["headers"]["Content-Type"], "application/json")
        self.assertNotIn("x-simulated-trading", reply["headers"])

    def test_demo_key_adds_the_simulated_trading_header(self):
        reply = self.sign("demo", "GET", "/api/v5/account/balance")
        self.assertEqual(reply["headers"]["x-simulated-trading"], "1")
        self.assertEqual(reply["headers"]["OK-ACCESS-SIGN"],
                         okx_sign(DEMO_SECRET, reply["timestamp"] + "GET/api/v5/account/balance"))

    def test_shared_vectors(self):
        # The vectors' timestamps are years old and the daemon refuses those; the
        # reference HMAC is checked against each vector, then the daemon against
        # the reference for the vector's request at the current time. Some
        # vectors sign endpoints on the built-in deny list: the grant names them.
        rest = vectors("rest")
        allow = [arg for v in rest for arg in ("--allow", v["method"] + " " + v["request_path"].split("?")[0])]
        for vector in rest:
            with self.subTest(vector["name"]):
                self.assertEqual(okx_sign(vector["secret"], vector["prehash"]), vector["expected_sign"])
                name = "vec-demo" if vector["demo"] else "vec"
                if name not in self.key_names():
                    extra = ["--simulated"] if vector["demo"] else []
                    self.daemon.add_key(name, vector["api_key"], vector["secret"], vector["passphrase"], *extra)
                    self.daemon.cli("grant", name, "--user", "root", *allow).check_returncode()
                ts = now_iso()
                reply = self.sign(name, vector["method"], vector["request_path"], vector["body"], timestamp=ts)
                expected = dict(vector["expected_headers"], **{
                    "OK-ACCESS-TIMESTAMP": ts,
                    "OK-ACCESS-SIGN": okx_sign(vector["secret"], ts + vector["method"] + vector["request_path"] + vector["body"]),
                })
                if vector["method"] == "POST":
                    expected["Content-Type"] = "application/json"
                self.assertEqual(reply["headers"], expected)

    def test_ws_login_frame(self):
        frame = json.loads(self.client.ws_login("main"))
        self.seen.append(json.dumps(frame))
        self.assertEqual(frame["op"], "login")
        (args,) = frame["args"]
        self.assertEqual(args["apiKey"], API_KEY)
        self.assertEqual(args["passphrase"], PASSPHRASE)
        self.assertLess(abs(int(args["timestamp"]) - time.time()), 30)
        self.assertEqual(args["sign"], okx_sign(SECRET, args["timestamp"] + "GET/users/self/verify"))
        ts = str(int(time.time()))
        fixed = json.loads(self.client.ws_login("main", timestamp=ts))
        self.assertEqual(fixed["args"][0]["timestamp"], ts)

    def assert_vault_error(self, code, status, call, *args, **kwargs):
        with self.assertRaises(VaultError) as raised:
            call(*args, **kwargs)
        self.assertEqual((raised.exception.code, raised.exception.status), (code, status))
        self.assertNotIn(SECRET, str(raised.exception))
        return raised.exception

    def test_errors_carry_the_daemon_code(self):
        self.assert_vault_error("key_not_found", 404, self.client.sign, "nope", "GET", "/api/v5/account/balance")
        self.assert_vault_error("bad_request", 400, self.client.sign, "main", "DELETE", "/api/v5/account/balance")
        self.assert_vault_error("bad_request", 400, self.client.sign, "main", "GET", "/not-okx")
        self.assert_vault_error("timestamp_skew", 400, self.client.sign, "main", "GET", "/api/v5/account/balance",
                                timestamp="2020-12-08T09:08:57.715Z")
        self.assert_vault_error("timestamp_skew", 400, self.client.ws_login, "main", timestamp="1538054050")
        denied = self.assert_vault_error("policy_denied", 403, self.client.sign, "main", "POST",
                                         "/api/v5/asset/withdrawal", '{"ccy":"BTC"}')
        self.assertEqual(denied.rule, "builtin deny POST /api/v5/asset/withdrawal")
        self.assertEqual(self.client.status()["keys"], len(self.client.list()))  # nothing lost, still usable

    def test_unreachable_socket(self):
        with Client(str(self.daemon.dir / "missing.sock")) as missing:
            error = self.assert_vault_error("unreachable", None, missing.status)
        self.assertIn("missing.sock", str(error))

    def test_a_reply_outside_the_protocol(self):
        for reply, what, status in ((b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", "not JSON", 200),
                                    (b"HTTP/1.1 500 Oops\r\nContent-Length: 2\r\n\r\n{}", "without an error object", 500),
                                    (b"SSH-2.0-OpenSSH\r\n\r\n", "", None)):
            with self.subTest(what or "not HTTP"):
                path = str(self.daemon.dir / "impostor.sock")
                with socket.socket(socket.AF_UNIX) as server:
                    server.bind(path)
                    server.listen()
                    answer = threading.Thread(target=_answer_once, args=(server, reply))
                    answer.start()
                    with Client(path) as client:
                        error = self.assert_vault_error("protocol_error", status, client.status)
                    answer.join()
                os.unlink(path)
                self.assertIn(what, error.message)

    def test_socket_path_from_argument_environment_or_default(self):
        saved = os.environ.pop("OKX_VAULT_SOCKET", None)
        try:
            self.assertEqual(resolve_socket_path(), DEFAULT_SOCKET)
            self.assertEqual(DEFAULT_SOCKET, "/run/okx-vault/okx-vault.sock")
            os.environ["OKX_VAULT_SOCKET"] = self.daemon.socket
            with Client() as from_environment:
                self.assertEqual(from_environment.status()["locked"], False)
            self.assertEqual(resolve_socket_path("/x.sock"), "/x.sock")
        finally:
            os.environ.pop("OKX_VAULT_SOCKET", None)
            if saved is not None:
                os.environ["OKX_VAULT_SOCKET"] = saved

    def test_reconnects_after_the_daemon_closed_an_idle_connection(self):
        self.assertEqual(self.client.status()["locked"], False)
        first = self.client._connection.sock
        time.sleep(0.6)  # past --idle-timeout-ms 300: the daemon has closed the connection
        self.assertEqual(self.client.status()["locked"], False)
        self.assertIsNot(self.client._connection.sock, first)

    def relayed_client(self):
        """A client whose kept-alive connection goes through a relay, made."""
        relay = _Relay(str(self.daemon.dir / "relay.sock"), self.daemon.socket)
        self.addCleanup(relay.close)
        client = Client(relay.path)
        self.addCleanup(client.close)
        client.status()
        return relay, client

    def test_a_sign_whose_reply_was_lost_is_sent_once_more(self):
        relay, client = self.relayed_client()
        relay.lose_next_reply = True
        reply = client.sign("main", "GET", "/api/v5/account/balance")
        self.seen.append(json.dumps(reply))
        self.assertEqual(reply["headers"]["OK-ACCESS-KEY"], API_KEY)
        self.assertEqual(relay.received.count("POST /v1/keys/main/sign"), 2)

    def test_a_change_whose_reply_was_lost_is_not_sent_again(self):
        self.daemon.add_key("doomed", DEMO_API_KEY, DEMO_SECRET, DEMO_PASSPHRASE)
        relay, client = self.relayed_client()
        relay.lose_next_reply = True
        with self.assertRaises(VaultError) as raised:
            client._call("DELETE", "/v1/keys/doomed")  # sent again, it would answer key_not_found
        self.assertEqual(raised.exception.code, "unreachable")
        self.assertEqual(relay.received.count("DELETE /v1/keys/doomed"), 1)
        self.assertNotIn("doomed", self.key_names(), "the revoke was done")

    def test_keep_alive_reuses_one_connection(self):
        self.client.status()
        first = self.client._connection.sock
        self.sign("main", "GET", "/api/v5/account/balance")
        self.assertIs(self.client._connection.sock, first)

    def test_threads_share_one_client(self):
        # Each of 8 threads signs its own requests on one Client; every reply
        # must be the one for that thread's request, signed over its own path.
        errors = []
        connections = set()
        start = threading.Barrier(8)

        def work(thread):
            start.wait()
            for i in range(10):
                path = f"/api/v5/account/balance?ccy=T{thread}R{i}"
                try:
                    reply = self.client.sign("main", "GET", path)
                    if reply["headers"]["OK-ACCESS-SIGN"] != okx_sign(SECRET, reply["timestamp"] + "GET" + path):
                        errors.append(f"thread {thread} request {i}: another request's signature")
                except VaultError as error:
                    errors.append(f"thread {thread} request {i}: {error}")
            connections.add(self.client._connection)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(connections), 8, "a connection per thread")

    def test_close_closes_every_threads_connection(self):
        opened = []

        def call():
            self.client.status()
            opened.append(self.client._connection)

        for _ in range(3):
            thread = threading.Thread(target=call)
            thread.start()
            thread.join()
        self.client.status()
        mine = self.client._connection
        with self.client:
            pass
        self.assertTrue(all(connection.sock is None for connection in opened + [mine]))
        self.assertEqual(self.client.status()["locked"], False)  # usable again, on a new connection
        self.assertIsNot(self.client._connection, mine)

    def test_the_client_holds_no_secret(self):
        self.sign("main", "GET", "/api/v5/account/balance")
        self.assertNotIn(SECRET, repr(vars(self.client)))


class _Relay:
    """Relays HTTP exchanges between clients at `path` and the real daemon, one
    connection at a time, recording each request the daemon received. On cue it
    loses the next reply and closes, as a crash or a cut link would."""

    def __init__(self, path, daemon_socket):
        self.path = path
        self.daemon_socket = daemon_socket
        self.received = []
        self.lose_next_reply = False
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen()
        threading.Thread(target=self._serve, daemon=True).start()

    def close(self):
        self.server.close()
        os.unlink(self.path)

    def _serve(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection, connection.makefile("rb") as requests:
                self._relay(connection, requests)

    def _relay(self, connection, requests):
        while (request := _read_message(requests)) is not None:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as daemon, daemon.makefile("rb") as replies:
                daemon.connect(self.daemon_socket)
                daemon.sendall(request)
                reply = _read_message(replies)
            self.received.append(b" ".join(request.split(b" ", 2)[:2]).decode())
            if self.lose_next_reply:
                self.lose_next_reply = False
                return
            connection.sendall(reply)


def _read_message(stream):
    """One HTTP message (its body sized by Content-Length), or None at the end."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = stream.readline()
        if not line:
            return None
        head += line
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head + stream.read(length)


def _answer_once(server, reply):
    connection, _ = server.accept()
    with connection:
        connection.recv(65536)
        connection.sendall(reply)


if __name__ == "__main__":
    unittest.main()
