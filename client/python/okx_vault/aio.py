"""okx-vaultd's client for asyncio: the calls of okx_vault.Client as coroutines,
on asyncio's own Unix connections, so that a sign never blocks the event loop.

    async with AsyncClient() as vault:
        reply = await vault.sign("main", "GET", "/api/v5/account/balance")

An AsyncClient keeps a small pool of keep-alive connections (at most
`max_connections`, 8 by default): each call takes one to itself for its
request and reply, so concurrent calls never share one. Use it from one
event loop.
"""

import asyncio

from ._protocol import (MAX_HEAD, StaleConnection, VaultError, decode_reply, encode_request, json_body, key_target,
                        parse_head, repeatable, resolve_socket_path, sign_request, ws_frame_text)

__all__ = ["AsyncClient", "VaultError"]


class _Connection:
    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer
        self.deadline = None  # while a call uses it: when it times out, by the loop's clock
        self.waiter = None  # the task of that call
        self.expired = False

    def close(self):
        self.writer.close()

    async def exchange(self, request):
        try:
            self.writer.write(request)
            await self.writer.drain()
        except (BrokenPipeError, ConnectionResetError) as error:
            raise StaleConnection(False) from error
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as error:
            if error.partial:
                raise VaultError("protocol_error", "connection closed inside a reply") from None
            raise StaleConnection(True) from error
        except ConnectionResetError as error:
            raise StaleConnection(True) from error
        except asyncio.LimitOverrunError:
            raise VaultError("protocol_error", "reply head too long") from None
        status, length, will_close = parse_head(head)
        try:
            body = await self.reader.readexactly(length) if length else b""
        except asyncio.IncompleteReadError:
            raise VaultError("protocol_error", "connection closed inside a reply", status) from None
        return status, body, will_close


class AsyncClient:
    def __init__(self, socket_path=None, timeout=10.0, max_connections=8):
        self.socket_path = resolve_socket_path(socket_path)
        self.timeout = timeout
        self.max_connections = max_connections
        self._idle = []
        self._busy = set()
        self._slots = None
        self._watchdog = None

    def close_nowait(self):
        """Starts closing every connection, from code that cannot await; the
        connections a call after it needs are new ones."""
        connections = self._idle + list(self._busy)
        self._idle = []
        self._busy = set()
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        for connection in connections:
            connection.close()
        return connections

    async def aclose(self):
        """Closes every connection; a call after it opens new ones."""
        connections = self.close_nowait()
        for connection in connections:
            try:
                await connection.writer.wait_closed()
            except (OSError, asyncio.CancelledError):
                pass

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.aclose()

    async def status(self):
        """{"version", "locked", "keys", "uptime_seconds"}."""
        return await self._call("GET", "/v1/status")

    async def list(self):
        """Metadata of the keys this caller may see; never secrets."""
        return (await self._call("GET", "/v1/keys"))["keys"]

    async def sign(self, name, method, path, body="", timestamp=None):
        """As okx_vault.Client.sign."""
        return await self._call("POST", key_target(name, "sign"), sign_request(method, path, body, timestamp))

    async def ws_login_frame(self, name, timestamp=None):
        """The WebSocket login frame, {"op": "login", "args": [...]}."""
        request = {} if timestamp is None else {"timestamp": timestamp}
        return await self._call("POST", key_target(name, "ws-login"), request)

    async def ws_login(self, name, timestamp=None):
        """The WebSocket login frame as JSON text, to send as is."""
        return ws_frame_text(await self.ws_login_frame(name, timestamp))

    async def _call(self, method, target, request=None):
        status, data = await self._exchange(method, target, encode_request(method, target, json_body(request)))
        return decode_reply(method, target, status, data)

    async def _exchange(self, method, target, request):
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_connections)
        async with self._slots:
            # As Client._exchange: one retry on a new connection, only where
            # that cannot do anything twice.
            may_retry = bool(self._idle)
            while True:
                connection = self._idle.pop() if self._idle else None
                try:
                    if connection is None:
                        connection = await self._connect()
                    self._start(connection)
                    status, data, will_close = await connection.exchange(request)
                except StaleConnection as stale:
                    self._drop(connection)
                    if not may_retry or (stale.sent and not repeatable(method, target)):
                        raise VaultError("unreachable",
                                         f"okx-vaultd at {self.socket_path} closed the connection") from stale.__cause__
                    may_retry = False
                    continue
                except asyncio.CancelledError:
                    self._drop(connection)
                    if connection is None or not connection.expired:
                        raise
                    task = asyncio.current_task()
                    if hasattr(task, "uncancel"):
                        task.uncancel()
                    raise VaultError("unreachable", f"okx-vaultd at {self.socket_path} did not answer within "
                                                    f"{self.timeout} s") from None
                except OSError as error:
                    self._drop(connection)
                    raise VaultError("unreachable",
                                     f"cannot reach okx-vaultd at {self.socket_path}: {error.strerror or error}") from None
                except BaseException:  # a protocol error, or the task cancelled mid-exchange
                    self._drop(connection)
                    raise
                self._busy.discard(connection)
                connection.deadline = connection.waiter = None
                if will_close:
                    connection.close()
                else:
                    self._idle.append(connection)
                return status, data

    async def _connect(self):
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_unix_connection(self.socket_path, limit=MAX_HEAD), self.timeout)
        except asyncio.TimeoutError:
            raise OSError(f"no connection within {self.timeout} s") from None
        return _Connection(reader, writer)

    # The timeout: one timer per client, not one per call (a timer per call
    # costs a sign a fifth of its time). While calls are in flight it wakes
    # every tenth of the timeout and cancels those past their deadline.
    def _start(self, connection):
        loop = asyncio.get_running_loop()
        connection.deadline = loop.time() + self.timeout
        connection.waiter = asyncio.current_task()
        self._busy.add(connection)
        if self._watchdog is None:
            self._watchdog = loop.call_later(self.timeout / 10, self._watch, loop)

    def _watch(self, loop):
        self._watchdog = None
        now = loop.time()
        for connection in self._busy:
            if connection.deadline is not None and connection.deadline <= now and not connection.expired:
                connection.expired = True
                connection.waiter.cancel()
        if self._busy:
            self._watchdog = loop.call_later(self.timeout / 10, self._watch, loop)

    def _drop(self, connection):
        if connection is not None:
            self._busy.discard(connection)
            connection.close()
