"""The okx-vaultd protocol (proto/PROTOCOL.md) over HTTP/1.1 on a Unix socket."""

import http.client
import json
import os
import re
import socket
import urllib.parse

DEFAULT_SOCKET = "/run/okx-vault/okx-vault.sock"


def resolve_socket_path(path=None):
    """The socket to use: `path` if given, else $OKX_VAULT_SOCKET, else the default."""
    return path or os.environ.get("OKX_VAULT_SOCKET") or DEFAULT_SOCKET


class VaultError(Exception):
    """An error from the daemon, with its stable `code` (key_not_found,
    policy_denied, ...), or `unreachable` / `protocol_error` when the daemon
    cannot be reached or answers outside the protocol. `rule` names the policy
    rule behind a policy_denied; `status` is the HTTP status (None if none)."""

    def __init__(self, code, message, status=None, rule=None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.rule = rule


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("okx-vault", timeout=timeout)
        self._path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self._path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class Client:
    """One keep-alive connection to okx-vaultd, opened on first use and reopened
    once if the daemon closed it while idle. Calls are synchronous; a Client is
    not thread-safe: give each thread its own."""

    def __init__(self, socket_path=None, timeout=10.0):
        self.socket_path = resolve_socket_path(socket_path)
        self.timeout = timeout
        self._connection = None

    def close(self):
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def status(self):
        """{"version", "locked", "keys", "uptime_seconds"}."""
        return self._call("GET", "/v1/status")

    def list(self):
        """Metadata of the keys this caller may see; never secrets."""
        return self._call("GET", "/v1/keys")["keys"]

    def sign(self, name, method, path, body="", timestamp=None):
        """{"timestamp", "headers"} for one OKX V5 REST request. `path` is the
        request path with its query and `body` the exact text, exactly as they
        will be sent; `timestamp` (ISO 8601 with milliseconds) must be within
        the daemon's allowed skew of its clock."""
        request = {"method": method, "path": path, "body": body}
        if timestamp is not None:
            request["timestamp"] = timestamp
        return self._call("POST", self._key_target(name, "sign"), request)

    def ws_login(self, name, timestamp=None):
        """The WebSocket login frame as JSON text, to send as is."""
        request = {} if timestamp is None else {"timestamp": timestamp}
        return json.dumps(self._call("POST", self._key_target(name, "ws-login"), request), separators=(",", ":"))

    @staticmethod
    def _key_target(name, action):
        return "/v1/keys/" + urllib.parse.quote(name, safe="") + "/" + action

    def _call(self, method, target, request=None):
        body = None if request is None else json.dumps(request).encode()
        status, data = self._exchange(method, target, body)
        try:
            reply = json.loads(data) if data else {}
        except ValueError:
            raise VaultError("protocol_error", f"reply to {method} {target} is not JSON", status) from None
        if not isinstance(reply, dict):
            raise VaultError("protocol_error", f"reply to {method} {target} is not a JSON object", status)
        if status >= 300:
            error = reply.get("error")
            if not isinstance(error, dict) or not isinstance(error.get("code"), str):
                raise VaultError("protocol_error", f"HTTP {status} without an error object", status)
            raise VaultError(error["code"], str(error.get("message", "")), status, error.get("rule"))
        return reply

    def _exchange(self, method, target, body):
        # A kept-alive connection that closed under us is retried once, on a new
        # connection, only where that cannot do anything twice: when the request
        # was never wholly written (the daemon closed it while idle; no handler
        # saw an incomplete request), or when repeating it is harmless (reads,
        # and sign and ws-login, which change nothing but the usage counter).
        # Otherwise the daemon may have done it and only its reply was lost.
        for may_retry in (self._connection is not None, False):
            try:
                return self._exchange_once(method, target, body)
            except _StaleConnection as stale:
                if not may_retry or (stale.sent and not _repeatable(method, target)):
                    raise VaultError("unreachable", f"okx-vaultd at {self.socket_path} closed the connection") from stale.__cause__

    def _exchange_once(self, method, target, body):
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if self._connection is None:
            self._connection = _UnixConnection(self.socket_path, self.timeout)
        sent = False
        try:
            self._connection.request(method, target, body=body, headers=headers)
            sent = True
            response = self._connection.getresponse()
            data = response.read()
            if response.will_close:
                self.close()
            return response.status, data
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as error:
            self.close()
            raise _StaleConnection(sent) from error
        except http.client.HTTPException as error:
            self.close()
            raise VaultError("protocol_error", f"okx-vaultd at {self.socket_path}: {error!r}") from None
        except OSError as error:
            self.close()
            raise VaultError("unreachable", f"cannot reach okx-vaultd at {self.socket_path}: {error.strerror or error}") from None


# The daemon closed a kept-alive connection before answering; `sent` says
# whether the whole request had been written.
class _StaleConnection(Exception):
    def __init__(self, sent):
        super().__init__()
        self.sent = sent


def _repeatable(method, target):
    """Any GET, and POST /v1/keys/{name}/sign or /ws-login (names are quoted)."""
    return method == "GET" or (method == "POST" and re.fullmatch(r"/v1/keys/[^/]+/(sign|ws-login)", target) is not None)
