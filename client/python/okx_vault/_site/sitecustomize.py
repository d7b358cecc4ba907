"""Installs okx_vault.ccxt_shim in a Python program that okx-vault-ccxt runs.

Python imports `sitecustomize` at start-up from the first directory on its path
that has one; only okx-vault-ccxt puts this one's directory first on
PYTHONPATH. It runs the sitecustomize it hides (the system's, a virtualenv's),
then installs the shim's import hook, which patches ccxt's okx classes when
the program imports ccxt, and imports nothing of ccxt itself.
"""

import importlib.machinery
import importlib.util
import os
import sys


def _run_the_next_sitecustomize():
    here = os.path.realpath(os.path.dirname(__file__))
    rest = [entry for entry in sys.path if os.path.realpath(entry or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)


def _install_the_shim():
    try:
        import okx_vault.ccxt_shim  # noqa: F401
    except ImportError:
        # okx_vault is where this file is, even when the program's Python does
        # not otherwise see it (another virtualenv): look there last.
        sys.path.append(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
        import okx_vault.ccxt_shim  # noqa: F401


try:
    _run_the_next_sitecustomize()
finally:
    _install_the_shim()
