"""Sign OKX V5 requests through okx-vaultd: the bot holds no secret.

Client talks to the daemon over its Unix socket from any number of threads,
okx_vault.aio.AsyncClient from asyncio (standard library only);
okx_vault.ccxt_okx makes a ccxt okx instance sign its private requests there,
and okx_vault.ccxt_shim does so for any ccxt okx instance whose secret is
`okx-vault:NAME`.
"""

from ._protocol import DEFAULT_SOCKET, VaultError, resolve_socket_path
from .client import Client

__all__ = ["DEFAULT_SOCKET", "Client", "VaultError", "resolve_socket_path"]
