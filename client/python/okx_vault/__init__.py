"""Sign OKX V5 requests through okx-vaultd: the bot holds no secret.

Client talks to the daemon over its Unix socket (standard library only);
okx_vault.ccxt_okx makes a ccxt okx instance sign its private requests there.
"""

from .client import DEFAULT_SOCKET, Client, VaultError, resolve_socket_path

__all__ = ["DEFAULT_SOCKET", "Client", "VaultError", "resolve_socket_path"]
