"""ccxt's okx exchange, signing its private requests through okx-vaultd.

    import ccxt
    from okx_vault.ccxt_okx import vault_okx

    exchange = vault_okx(ccxt.okx, key="main", config={"enableRateLimit": True})
    exchange.fetch_balance()

Works with ccxt.okx, ccxt.async_support.okx and ccxt.pro.okx (and their
subclasses). The instance holds no secret and no passphrase: its secret is the
placeholder `okx-vault:KEY`, which okx_vault.ccxt_shim (installed by this
call) recognises; see there how a request is signed. Public requests are
ccxt's own.
"""


from . import ccxt_shim

__all__ = ["vault_okx"]


def vault_okx(okx_class, key, socket_path=None, config=None, timeout=10.0):
    """A `okx_class` instance (ccxt.okx, ccxt.async_support.okx, ccxt.pro.okx or
    a subclass) whose private requests are signed by the vault's key `key`.
    `config` is ccxt's usual config, without `secret` and `password`: those
    stay in the vault."""
    config = dict(config or {})
    for field in ("secret", "password"):
        if config.get(field):
            raise ValueError(f"okx-vault: do not give ccxt a {field}: the vault keeps it")
    ccxt_shim.install()
    for cls in okx_class.__mro__:
        patch = ccxt_shim._PATCHES.get(cls.__module__)
        if patch is not None and cls.__name__ == "okx":
            patch(cls)
    if not any(cls.__dict__.get("_okx_vault_patched") for cls in okx_class.__mro__):
        raise TypeError(f"okx-vault: {okx_class!r} is not ccxt's okx exchange")
    config["secret"] = ccxt_shim.PREFIX + key
    exchange = okx_class(config)
    exchange.okx_vault_socket = socket_path
    exchange.okx_vault_timeout = timeout
    asynchronous = any(cls.__module__ in ("ccxt.async_support.okx", "ccxt.pro.okx") for cls in okx_class.__mro__)
    ccxt_shim._binding(exchange, asynchronous)
    return exchange
