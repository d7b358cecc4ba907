"""Puts Python ccxt on sys.path for the tests, from the first of: an installed
ccxt; $OKXVAULT_CCXT_PATH; shared/third_party/ccxt-python beside the checkout,
or beside the main checkout of a git worktree (see shared/third_party/README.md).

With OKXVAULT_REQUIRE_CCXT=1 (as scripts/test.sh runs the tests) a ccxt that
does not import is an error, else the tests that need it report themselves
skipped.
"""

import importlib
import os
import subprocess
import sys
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _candidates():
    if os.environ.get("OKXVAULT_CCXT_PATH"):
        yield Path(os.environ["OKXVAULT_CCXT_PATH"])
    yield ROOT.parent / "shared" / "third_party" / "ccxt-python"
    try:
        common = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--path-format=absolute", "--git-common-dir"],
                                capture_output=True, text=True, check=True).stdout.strip()
        yield Path(common).parent.parent / "shared" / "third_party" / "ccxt-python"
    except (OSError, subprocess.CalledProcessError):
        pass


def _find():
    try:
        import ccxt  # noqa: F401  (an installed one, or one on PYTHONPATH)
    except ImportError:
        pass
    else:
        try:
            importlib.import_module("ccxt.async_support")
            return None, None
        except ImportError as error:
            return None, f"Python ccxt does not import ({error}): see shared/third_party/ccxt-python's README"
    for candidate in _candidates():
        if (candidate / "ccxt" / "__init__.py").is_file():
            sys.path.append(str(candidate))
            try:
                importlib.import_module("ccxt")
                importlib.import_module("ccxt.async_support")
                return str(candidate), None
            except ImportError as error:
                return str(candidate), f"Python ccxt in {candidate} does not import ({error}): see its README"
    return None, "no Python ccxt: not installed, and not in $OKXVAULT_CCXT_PATH or shared/third_party/ccxt-python"


CCXT_DIR, CCXT_MISSING = _find()
if CCXT_MISSING and os.environ.get("OKXVAULT_REQUIRE_CCXT") == "1":
    raise ImportError(CCXT_MISSING + " (OKXVAULT_REQUIRE_CCXT=1)")


def python_path(*extra):
    """A PYTHONPATH for a child process that imports ccxt the same way."""
    return os.pathsep.join([*extra, *([CCXT_DIR] if CCXT_DIR else []), *sys.path[1:]])


requires_ccxt = unittest.skipIf(CCXT_MISSING is not None, CCXT_MISSING)
