"""The okx-vaultd protocol (proto/PROTOCOL.md) over HTTP/1.1 on a Unix socket,
for threads: a Client may be shared by any number of them."""

import socket
import threading
import weakref

from ._protocol import (DEFAULT_SOCKET, MAX_HEAD, StaleConnection, VaultError, decode_reply, encode_request,
                        json_body, key_target, parse_head, repeatable, resolve_socket_path, sign_request,
                        ws_frame_text)

__all__ = ["DEFAULT_SOCKET", "Client", "VaultError", "resolve_socket_path"]


class _Connection:
    """One keep-alive connection: one request at a time, its reply read whole."""

    def __init__(self, path, timeout):
        self.sock = None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        self._buffer = b""

    def close(self):
        sock, self.sock = self.sock, None
        if sock is not None:
            sock.close()

    __del__ = close  # the connection of a thread that ended

    def exchange(self, request):
        """(status, body, will_close). StaleConnection if the daemon had closed
        the connection before answering; OSError for anything else."""
        sock = self.sock
        if sock is None:
            raise StaleConnection(False)
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError) as error:
            raise StaleConnection(False) from error
        buffer = self._buffer
        try:
            while (end := buffer.find(b"\r\n\r\n")) < 0:
                if len(buffer) > MAX_HEAD:
                    raise VaultError("protocol_error", "reply head too long")
                data = sock.recv(65536)
                if not data:
                    if buffer:
                        raise VaultError("protocol_error", "connection closed inside a reply")
                    raise StaleConnection(True)
                buffer += data
        except ConnectionResetError as error:
            if buffer:
                raise VaultError("protocol_error", "connection reset inside a reply") from None
            raise StaleConnection(True) from error
        status, length, will_close = parse_head(buffer[:end + 4])
        body_end = end + 4 + length
        while len(buffer) < body_end:
            data = sock.recv(max(65536, body_end - len(buffer)))
            if not data:
                raise VaultError("protocol_error", "connection closed inside a reply", status)
            buffer += data
        self._buffer = buffer[body_end:]
        return status, buffer[end + 4:body_end], will_close


class Client:
    """okx-vaultd's client for threads. Each thread that calls it gets a keep-alive
    connection of its own, opened on its first call and reopened if the daemon
    closed it while idle, so nothing of one thread's request or reply can reach
    another's. close() closes every thread's connection (a thread's next call
    opens a new one); a Client is also a context manager."""

    def __init__(self, socket_path=None, timeout=10.0):
        self.socket_path = resolve_socket_path(socket_path)
        self.timeout = timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open = weakref.WeakSet()  # a thread's connection goes with the thread

    @property
    def _connection(self):
        """This thread's connection, None before its first call or after close()."""
        connection = getattr(self._local, "connection", None)
        return connection if connection is not None and connection.sock is not None else None

    def close(self):
        with self._lock:
            connections, self._open = list(self._open), weakref.WeakSet()
        for connection in connections:
            connection.close()

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
        return self._call("POST", key_target(name, "sign"), sign_request(method, path, body, timestamp))

    def ws_login_frame(self, name, timestamp=None):
        """The WebSocket login frame, {"op": "login", "args": [...]}."""
        return self._call("POST", key_target(name, "ws-login"), {} if timestamp is None else {"timestamp": timestamp})

    def ws_login(self, name, timestamp=None):
        """The WebSocket login frame as JSON text, to send as is."""
        return ws_frame_text(self.ws_login_frame(name, timestamp))

    def _call(self, method, target, request=None):
        status, data = self._exchange(method, target, encode_request(method, target, json_body(request)))
        return decode_reply(method, target, status, data)

    def _exchange(self, method, target, request):
        # A kept-alive connection that closed under us is retried once, on a new
        # connection, only where that cannot do anything twice: when the request
        # was never wholly written (the daemon closed it while idle; no handler
        # saw an incomplete request), or when repeating it is harmless (reads,
        # and sign and ws-login, which change nothing but the usage counter).
        # Otherwise the daemon may have done it and only its reply was lost.
        for may_retry in (self._connection is not None, False):
            connection = self._connection
            try:
                if connection is None:
                    connection = self._local.connection = _Connection(self.socket_path, self.timeout)
                    with self._lock:
                        self._open.add(connection)
                status, data, will_close = connection.exchange(request)
                if will_close:
                    connection.close()
                return status, data
            except StaleConnection as stale:
                connection.close()
                if not may_retry or (stale.sent and not repeatable(method, target)):
                    raise VaultError("unreachable",
                                     f"okx-vaultd at {self.socket_path} closed the connection") from stale.__cause__
            except VaultError:
                if connection is not None:
                    connection.close()
                raise
            except OSError as error:
                if connection is not None:
                    connection.close()
                raise VaultError("unreachable",
                                 f"cannot reach okx-vaultd at {self.socket_path}: {error.strerror or error}") from None
