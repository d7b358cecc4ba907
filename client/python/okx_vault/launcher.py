"""okx-vault-ccxt: runs a program with okx_vault.ccxt_shim installed, so that
every ccxt okx instance whose secret is `okx-vault:NAME` signs through the
vault's key NAME, with no change to the program.

    okx-vault-ccxt [--socket PATH] COMMAND [ARGS...]

It puts a directory holding a sitecustomize.py first on PYTHONPATH (for COMMAND
and the Python programs it starts; Python's -S and -I turn that off) and, with
--socket, sets OKX_VAULT_SOCKET; then it executes COMMAND.
"""

import os
import sys

USAGE = """usage: okx-vault-ccxt [--socket PATH] COMMAND [ARGS...]

Runs COMMAND (a Python program using ccxt, e.g. `python3 bot.py` or
`freqtrade trade ...`) so that every ccxt okx instance whose secret is
okx-vault:NAME signs its private requests and WebSocket logins through the
okx-vaultd key NAME. The socket is --socket, else $OKX_VAULT_SOCKET, else
/run/okx-vault/okx-vault.sock.
"""


def site_directory():
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "_site")


def environment(base=None, socket_path=None):
    """The environment COMMAND runs in."""
    env = dict(os.environ if base is None else base)
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = site_directory() + (os.pathsep + path if path else "")
    if socket_path:
        env["OKX_VAULT_SOCKET"] = socket_path
    return env


def main(argv=None):
    args = list(sys.argv[1:] if argv is None else argv)
    socket_path = None
    while args and args[0].startswith("-"):
        option = args.pop(0)
        if option in ("-h", "--help"):
            sys.stdout.write(USAGE)
            return 0
        if option == "--socket" and args:
            socket_path = args.pop(0)
        elif option.startswith("--socket="):
            socket_path = option.split("=", 1)[1]
        elif option == "--":
            break
        else:
            sys.stderr.write(f"okx-vault-ccxt: unknown option {option}\n" + USAGE)
            return 2
    if not args:
        sys.stderr.write(USAGE)
        return 2
    try:
        os.execvpe(args[0], args, environment(socket_path=socket_path))
    except OSError as error:
        sys.stderr.write(f"okx-vault-ccxt: cannot run {args[0]}: {error.strerror or error}\n")
        return 127


if __name__ == "__main__":
    sys.exit(main())
