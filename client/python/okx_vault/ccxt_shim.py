"""Any ccxt okx instance whose secret is `okx-vault:NAME` signs through the
vault's key NAME; every other instance is left as it is.

    import okx_vault.ccxt_shim   # before or after ccxt; no other change
    import ccxt

    exchange = ccxt.okx({"secret": "okx-vault:main"})
    exchange.fetch_balance()

Importing this module patches ccxt.okx, ccxt.async_support.okx and
ccxt.pro.okx (each already imported, or when it is imported; it imports none
of them). ccxt's own sign() builds every request as usual, with placeholders
for the api key and passphrase it does not have (so that its credential checks
pass and fetch_currencies, for one, works); then the vault signs exactly the
method, the path and query of the URL ccxt built, ccxt's body and ccxt's
OK-ACCESS-TIMESTAMP, and its OK-ACCESS-KEY, -SIGN and -PASSPHRASE replace
ccxt's. Everything else (broker tags, timeDifference, batch bodies, the
x-simulated-trading header of sandbox mode) stays ccxt's. The sync class
signs in sign() with okx_vault.Client (shareable between threads); the asyncio
classes sign in fetch() with okx_vault.aio.AsyncClient, which never blocks the
event loop. ccxt.pro's login to private WebSockets sends the daemon's
ws-login frame. An apiKey given to ccxt must be the vault key's, for REST and
WebSocket alike, or nothing is sent. close() closes the vault's connections.

The socket is $OKX_VAULT_SOCKET or the default, or the instance's
options["okxVaultSocket"]. Errors from the vault are ccxt's (see
`ccxt_error`).
"""

import contextvars
import importlib.abc
import importlib.machinery
import sys
import threading

from ._protocol import VaultError
from .client import Client

PREFIX = "okx-vault:"
# What ccxt holds for the credentials the vault keeps: never sent, since the
# vault's headers replace every header that carries them.
PLACEHOLDER = "okx-vault"
SIMULATED = "x-simulated-trading"
_VAULT_HEADERS = ("OK-ACCESS-KEY", "OK-ACCESS-SIGN", "OK-ACCESS-PASSPHRASE")

# Vault errors as the ccxt errors bots already handle.
CCXT_ERRORS = {
    "unreachable": "NetworkError",
    "too_many_connections": "ExchangeNotAvailable",
    "vault_locked": "ExchangeNotAvailable",
    "audit_unavailable": "ExchangeNotAvailable",
    "policy_denied": "PermissionDenied",
    "rate_limited": "PermissionDenied",
    "forbidden": "PermissionDenied",
    "key_expired": "PermissionDenied",
    "key_not_found": "AuthenticationError",
    "timestamp_skew": "InvalidNonce",
}


def ccxt_error(error, key=None):
    """The ccxt exception for a VaultError, its message naming the daemon's rule."""
    from ccxt.base import errors

    what = f"okx-vault key '{key}'" if key else "okx-vault"
    message = f"{what}: {error.code}: {error.message}"
    if error.rule and error.rule not in error.message:
        message += f" (rule: {error.rule})"
    exception = getattr(errors, CCXT_ERRORS.get(error.code, "ExchangeError"))(message)
    exception.__cause__ = error
    return exception


def vault_key(exchange):
    """NAME if the instance's secret is okx-vault:NAME, else None."""
    secret = getattr(exchange, "secret", None)
    if isinstance(secret, str) and secret.startswith(PREFIX):
        return secret[len(PREFIX):]
    return None


class _Binding:
    """An instance's link to the vault: its client and what the key list says."""

    def __init__(self, key, client):
        self.key = key
        self.client = client
        self.simulated = None  # the key's demo flag, from the vault's key list

    def mode_error(self, exchange, keys):
        """The error that stops a request before it is signed, or None: an
        unknown key, or a demo key used live (or a live one in sandbox mode)."""
        from ccxt.base import errors

        if self.simulated is None:
            listed = [k for k in keys if k.get("name") == self.key] if keys is not None else []
            if not listed:
                return errors.AuthenticationError(
                    f"okx-vault: no key '{self.key}' in the vault at {self.client.socket_path}, "
                    "or none this user may sign with")
            self.simulated = bool(listed[0].get("simulated"))
        sandbox = SIMULATED in (exchange.headers or {})
        if self.simulated != sandbox:
            return errors.AuthenticationError(
                f"okx-vault: key '{self.key}' is a {'demo' if self.simulated else 'live'} key but ccxt is "
                f"{'not ' if self.simulated else ''}in sandbox mode: call set_sandbox_mode({self.simulated})")
        return None

    def check_api_key(self, exchange, vault_api_key):
        """An api key given to ccxt must be the vault key's: else the bot
        believes it trades on one account and signs for another."""
        from ccxt.base import errors

        api_key = exchange.apiKey
        if api_key and api_key != PLACEHOLDER and api_key != vault_api_key:
            raise errors.AuthenticationError(f"okx-vault: ccxt's apiKey is not the api key of vault key '{self.key}'")

    def apply(self, exchange, headers, vault_headers):
        from ccxt.base import errors

        if (SIMULATED in vault_headers) != (SIMULATED in (exchange.headers or {})):
            raise errors.AuthenticationError(f"okx-vault: key '{self.key}' and ccxt's sandbox mode disagree")
        self.check_api_key(exchange, vault_headers.get("OK-ACCESS-KEY"))
        for name in _VAULT_HEADERS:
            headers[name] = vault_headers[name]


_bindings_lock = threading.Lock()


def _binding(exchange, asynchronous):
    key = vault_key(exchange)
    binding = exchange.__dict__.get("_okx_vault_binding")
    if binding is not None and binding.key == key:
        return binding
    with _bindings_lock:
        binding = exchange.__dict__.get("_okx_vault_binding")
        if binding is None or binding.key != key:
            socket_path = getattr(exchange, "okx_vault_socket", None) or (exchange.options or {}).get("okxVaultSocket")
            timeout = getattr(exchange, "okx_vault_timeout", 10.0)
            if asynchronous:
                from .aio import AsyncClient

                client = AsyncClient(socket_path, timeout)
            else:
                client = Client(socket_path, timeout)
            if binding is not None:  # the secret named another key
                old = binding.client
                old.close_nowait() if hasattr(old, "close_nowait") else old.close()
            binding = _Binding(key, client)
            exchange._okx_vault_binding = binding
            exchange.okx_vault = client
    return binding


def _fill_placeholders(exchange):
    # Only what is missing: an api key given to ccxt is checked against the vault's.
    if not exchange.apiKey:
        exchange.apiKey = PLACEHOLDER
    if not exchange.password:
        exchange.password = PLACEHOLDER


def _signed_part(request):
    """(method, path with query, body, timestamp) of the request ccxt built."""
    url = request["url"]
    start = url.find("/", url.find("://") + 3)
    path = url[start:] if start >= 0 else "/"
    return request["method"], path, request["body"] or "", request["headers"]["OK-ACCESS-TIMESTAMP"]


def _original(cls, name):
    """cls's own method `name`, or one that calls the inherited one."""
    own = cls.__dict__.get(name)
    if own is not None:
        return own

    def inherited(self, *args, **kwargs):
        return getattr(super(cls, self), name)(*args, **kwargs)

    return inherited


def _patch_common(cls):
    check_required_credentials = _original(cls, "check_required_credentials")

    def patched_check_required_credentials(self, error=True):
        if vault_key(self) is not None:
            _fill_placeholders(self)
        return check_required_credentials(self, error)

    cls.check_required_credentials = patched_check_required_credentials


def patch_sync(cls):
    """ccxt.okx: the vault signs in sign(), synchronously."""
    if cls.__dict__.get("_okx_vault_patched"):
        return
    _patch_common(cls)
    sign = _original(cls, "sign")

    def patched_sign(self, path, api="public", method="GET", params={}, headers=None, body=None):  # noqa: B006 (ccxt's)
        request = sign(self, path, api, method, params, headers, body)
        if vault_key(self) is None or "OK-ACCESS-SIGN" not in (request.get("headers") or {}):
            return request
        binding = _binding(self, False)
        method, path, body, timestamp = _signed_part(request)
        try:
            error = binding.mode_error(self, None if binding.simulated is not None else binding.client.list())
            if error is not None:
                raise error
            reply = binding.client.sign(binding.key, method, path, body, timestamp)
        except VaultError as error:
            raise ccxt_error(error, binding.key) from error
        binding.apply(self, request["headers"], reply["headers"])
        return request

    close = cls.__dict__.get("close")

    def patched_close(self):
        binding = self.__dict__.get("_okx_vault_binding")
        if binding is not None:
            binding.client.close()
        if close is not None:
            return close(self)
        parent = getattr(super(cls, self), "close", None)
        return parent() if parent is not None else None

    cls.sign = patched_sign
    cls.close = patched_close
    cls._okx_vault_patched = True


def patch_async(cls):
    """ccxt.async_support.okx (and so ccxt.pro.okx): ccxt's sign() builds the
    request, and fetch() has the vault sign it before sending, awaiting it."""
    if cls.__dict__.get("_okx_vault_patched"):
        return
    _patch_common(cls)
    fetch = _original(cls, "fetch")
    close = _original(cls, "close")

    async def patched_fetch(self, url, method="GET", headers=None, body=None):
        if headers and "OK-ACCESS-SIGN" in headers and vault_key(self) is not None:
            await _sign_async(self, {"url": url, "method": method, "headers": headers, "body": body})
        return await fetch(self, url, method, headers, body)

    async def patched_close(self):
        try:
            return await close(self)
        finally:
            binding = self.__dict__.get("_okx_vault_binding")
            if binding is not None:
                await binding.client.aclose()

    cls.fetch = patched_fetch
    cls.close = patched_close
    cls._okx_vault_patched = True


async def _sign_async(exchange, request):
    binding = _binding(exchange, True)
    method, path, body, timestamp = _signed_part(request)
    try:
        error = binding.mode_error(exchange, None if binding.simulated is not None else await binding.client.list())
        if error is not None:
            raise error
        reply = await binding.client.sign(binding.key, method, path, body, timestamp)
    except VaultError as error:
        raise ccxt_error(error, binding.key) from error
    binding.apply(exchange, request["headers"], reply["headers"])


# The daemon's login frame for the authenticate() running in this context.
_ws_login_frame = contextvars.ContextVar("okx_vault_ws_login_frame", default=None)


def patch_pro(cls):
    """ccxt.pro.okx: authenticate() builds and sends its login message as
    usual, with the daemon's ws-login frame's arguments in place of its own."""
    if cls.__dict__.get("_okx_vault_patched"):
        return
    authenticate = _original(cls, "authenticate")
    watch = _original(cls, "watch")

    async def patched_authenticate(self, params={}):  # noqa: B006 (ccxt's)
        if vault_key(self) is None:
            return await authenticate(self, params)
        _fill_placeholders(self)
        access = self.safe_string(params, "access", "private")
        client = self.client(self.get_url("users", access))
        frame = None
        if self.safe_value(client.subscriptions, "authenticated") is None:
            binding = _binding(self, True)
            try:
                error = binding.mode_error(self, None if binding.simulated is not None else await binding.client.list())
                if error is not None:
                    raise error
                frame = await binding.client.ws_login_frame(binding.key, str(self.seconds()))
            except VaultError as error:
                raise ccxt_error(error, binding.key) from error
            binding.check_api_key(self, (frame.get("args") or [{}])[0].get("apiKey"))
        token = _ws_login_frame.set(frame)
        try:
            return await authenticate(self, params)
        finally:
            _ws_login_frame.reset(token)

    def patched_watch(self, url, message_hash, message=None, subscribe_hash=None, subscription=None, *args, **kwargs):
        frame = _ws_login_frame.get()
        if frame is not None and isinstance(message, dict) and message.get("op") == "login":
            message = dict(message, args=frame["args"])
        return watch(self, url, message_hash, message, subscribe_hash, subscription, *args, **kwargs)

    cls.authenticate = patched_authenticate
    cls.watch = patched_watch
    cls._okx_vault_patched = True


_PATCHES = {"ccxt.okx": patch_sync, "ccxt.async_support.okx": patch_async, "ccxt.pro.okx": patch_pro}


def _patch_module(name, module):
    okx = getattr(module, "okx", None)
    if isinstance(okx, type):
        _PATCHES[name](okx)


class _Loader(importlib.abc.Loader):
    """Runs a module's own loader, then patches its okx class."""

    def __init__(self, loader, name):
        self._loader = loader
        self._name = name

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        _patch_module(self._name, module)

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _Finder(importlib.abc.MetaPathFinder):
    """Wraps the loader of ccxt's three okx modules as they are imported."""

    def find_spec(self, fullname, path, target=None):
        if fullname not in _PATCHES:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _Loader(spec.loader, fullname)
                return spec
        return None


def install():
    """Patches the okx modules already imported and the ones imported later.
    Done once, when this module is imported."""
    if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
    for name in _PATCHES:
        module = sys.modules.get(name)
        if module is not None:
            _patch_module(name, module)


install()
