"""ccxt's okx exchange, signing its private requests through okx-vaultd.

    import ccxt
    from okx_vault.ccxt_okx import vault_okx

    exchange = vault_okx(ccxt.okx, key="main", config={"enableRateLimit": True})
    exchange.fetch_balance()

The instance holds no secret and no passphrase: sign() below is ccxt's
okx.sign() with the HMAC replaced by a call to the vault, made over the exact
path, query and body that ccxt then sends. Public requests are ccxt's own.
Works with ccxt.okx and ccxt.async_support.okx (whose sign() is synchronous too:
the vault call blocks the event loop for the length of one local round trip).
"""

from .client import Client, VaultError

_SIMULATED = "x-simulated-trading"


def vault_okx(okx_class, key, socket_path=None, config=None, timeout=10.0):
    """A `okx_class` instance (ccxt.okx or a subclass) whose private requests are
    signed by the vault's key `key`. `config` is ccxt's usual config, without
    `secret` and `password`: those stay in the vault."""
    config = dict(config or {})
    for field in ("secret", "password"):
        if config.get(field):
            raise ValueError(f"okx-vault: do not give ccxt a {field}: the vault keeps it")
    exchange_class = type("VaultOkx" + okx_class.__name__, (_VaultSigning, okx_class), {})
    exchange = exchange_class(config)
    exchange.okx_vault = Client(socket_path, timeout)
    exchange.okx_vault_key = key
    return exchange


class _VaultSigning:
    okx_vault = None
    okx_vault_key = None

    # Mirrors okx.sign() (python/ccxt/okx.py) step by step, with ccxt's own
    # helpers, so that the signed bytes are the bytes ccxt sends.
    def sign(self, path, api="public", method="GET", params={}, headers=None, body=None):
        if api != "private":
            return super().sign(path, api, method, params, headers, body)
        is_array = isinstance(params, list)
        request = "/api/" + self.version + "/" + self.implode_params(path, params)
        query = self.omit(params, self.extract_params(path))
        url = self.implode_hostname(self.urls["api"]["rest"]) + request
        if method == "POST" and path in ("trade/batch-orders", "trade/order-algo", "trade/order"):
            self._tag_orders(params)
        signed_path = request
        if method == "GET":
            if query:
                encoded_query = "?" + self.urlencode(query)
                signed_path += encoded_query
                url += encoded_query
        elif is_array or query:
            body = self.json(query)
        headers = self._vault_headers(method, signed_path, body or "", self.iso8601(self._okx_nonce()))
        return {"url": url, "method": method, "body": body, "headers": headers}

    # ccxt's broker tag on new orders that carry no client order id.
    def _tag_orders(self, params):
        broker_id = self.safe_string(self.options, "brokerId", "e847386590ce4dBC")
        for entry in params if isinstance(params, list) else [params]:
            if self.safe_string(entry, "clOrdId") is None:
                entry["clOrdId"] = broker_id + self.uuid16()
                entry["tag"] = broker_id

    # Newer ccxt stamps okx requests with okx.nonce() (milliseconds corrected by
    # options['timeDifference']); older ones with milliseconds().
    def _okx_nonce(self):
        for cls in type(self).__mro__:
            if cls.__name__ == "okx" and "nonce" in vars(cls):
                return self.nonce()
        return self.milliseconds()

    def _vault_headers(self, method, path, body, timestamp):
        from ccxt.base import errors

        try:
            headers = dict(self.okx_vault.sign(self.okx_vault_key, method, path, body, timestamp)["headers"])
        except VaultError as error:
            raise _ccxt_error(errors, error) from error
        demo_key = _SIMULATED in headers
        if demo_key != (_SIMULATED in (self.headers or {})):
            raise errors.AuthenticationError(
                f"okx-vault: key '{self.okx_vault_key}' is a {'demo' if demo_key else 'live'} key but ccxt is "
                f"{'not ' if demo_key else ''}in sandbox mode: call set_sandbox_mode({demo_key})")
        if self.apiKey and self.apiKey != headers.get("OK-ACCESS-KEY"):
            raise errors.AuthenticationError(
                f"okx-vault: ccxt's apiKey is not the api key of vault key '{self.okx_vault_key}'")
        return headers


# Vault errors as the ccxt errors bots already handle: an unreachable vault is
# a network error worth retrying, a refusal is a permission error.
_CCXT_ERRORS = {
    "unreachable": "NetworkError",
    "forbidden": "PermissionDenied",
    "policy_denied": "PermissionDenied",
    "key_expired": "PermissionDenied",
    "key_not_found": "AuthenticationError",
    "timestamp_skew": "InvalidNonce",
}


def _ccxt_error(errors, error):
    return getattr(errors, _CCXT_ERRORS.get(error.code, "ExchangeError"))("okx-vault: " + str(error))
