"""okx-vault-ccxt: an unmodified ccxt script, run under the launcher, trades on a
stand-in OKX (which checks every signature as OKX does) with only
`okx-vault:main` as its secret; and the package installs with pip, offline."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

from ccxt_path import python_path, requires_ccxt
from okx_standin import OkxStandIn
from vault_daemon import VaultDaemon

PACKAGE = Path(__file__).resolve().parents[1]
API_KEY = "37c5e7d2-96a3-4d4f-9d4b-1f0a2b3c8418"
SECRET = "SECRET-launcher-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
PASSPHRASE = "PASSPHRASE-launcher-Gg1"

# A plain ccxt bot: it knows nothing of the vault but the secret it is given.
BOT = textwrap.dedent("""
    import json, os, sys
    import ccxt

    exchange = ccxt.okx({
        "apiKey": os.environ.get("BOT_API_KEY", ""),
        "secret": os.environ["BOT_SECRET"],
        "password": "",
        "enableRateLimit": False,
        "urls": {"api": {"rest": os.environ["BOT_OKX_URL"]}},
        "options": {"fetchMarkets": {"types": ["spot"]}},
    })
    try:
        exchange.load_markets()
        balance = exchange.fetch_balance()
        order = exchange.create_order("BTC/USDT", "limit", "buy", 0.001, 1000)
        print(json.dumps({"usdt": balance["USDT"]["free"], "order": order["id"],
                          "btc": exchange.currencies["BTC"]["name"]}))
    except ccxt.BaseError as error:
        print(json.dumps({"error": type(error).__name__, "message": str(error)}))
""")


@requires_ccxt
class LauncherTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = VaultDaemon()
        cls.daemon.add_key("main", API_KEY, SECRET, PASSPHRASE)
        cls.okx = OkxStandIn({API_KEY: (SECRET, PASSPHRASE)})
        cls.bot = cls.daemon.dir / "bot.py"
        cls.bot.write_text(BOT)

    @classmethod
    def tearDownClass(cls):
        cls.okx.close()
        cls.daemon.close()

    def run_bot(self, launcher, pythonpath, secret="okx-vault:main", extra_env=None):
        env = {key: value for key, value in os.environ.items() if not key.startswith("OKX_VAULT_")}
        env.update(PYTHONPATH=pythonpath, BOT_SECRET=secret, BOT_OKX_URL=self.okx.url, PYTHONDONTWRITEBYTECODE="1",
                   **(extra_env or {}))
        out = subprocess.run([*launcher, "--socket", self.daemon.socket, sys.executable, str(self.bot)] if launcher
                             else [sys.executable, str(self.bot)], env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        return json.loads(out.stdout.strip().splitlines()[-1]), out.stderr

    def assert_traded(self, result):
        self.assertEqual(result.get("error"), None, result)
        self.assertEqual(result["usdt"], 100)
        self.assertEqual(result["order"], "1001")
        self.assertEqual(result["btc"], "Bitcoin")  # from fetch_currencies, a private request: it was signed

    def test_an_unmodified_ccxt_script_under_the_launcher(self):
        before = len(self.okx.private())
        result, _ = self.run_bot([sys.executable, "-m", "okx_vault.launcher"], python_path(str(PACKAGE)))
        self.assert_traded(result)
        sent = self.okx.private()[before:]
        self.assertEqual(len(sent), 3)  # currencies, balance, order
        self.assertTrue(all(verified for *_, verified in sent))

    def test_without_the_launcher_nothing_is_patched(self):
        result, _ = self.run_bot(None, python_path(str(PACKAGE)))
        self.assertEqual(result["error"], "AuthenticationError")  # ccxt, with no usable credentials

    def test_the_sitecustomize_it_hides_still_runs(self):
        other = Path(tempfile.mkdtemp(prefix="okxv-site-"))
        self.addCleanup(shutil.rmtree, other)
        (other / "sitecustomize.py").write_text("import sys\nsys.stderr.write('the other sitecustomize ran\\n')\n")
        result, stderr = self.run_bot([sys.executable, "-m", "okx_vault.launcher"], python_path(str(other), str(PACKAGE)))
        self.assert_traded(result)
        self.assertIn("the other sitecustomize ran", stderr)

    def test_the_package_carries_the_projects_licence(self):
        self.assertEqual((PACKAGE / "LICENSE").read_text(), (PACKAGE.parents[1] / "LICENSE").read_text())

    def test_pip_installs_it_offline_with_the_console_script(self):
        work = Path(tempfile.mkdtemp(prefix="okxv-pip-"))
        self.addCleanup(shutil.rmtree, work)
        source = work / "src"
        shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns("tests", "build", "*.egg-info", "__pycache__"))
        target = work / "target"
        out = subprocess.run([sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-index", "--quiet",
                              "--target", str(target), str(source)], capture_output=True, text=True, timeout=300)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        dist_info = next(target.glob("okx_vault-*.dist-info"))
        self.assertIn("License: MIT", (dist_info / "METADATA").read_text())
        self.assertIn("The okx-vault authors", (dist_info / "LICENSE").read_text())
        launcher = target / "bin" / "okx-vault-ccxt"
        self.assertTrue(launcher.is_file())
        # The installed package, not this checkout's, must be the one that runs.
        pythonpath = os.pathsep.join(p for p in python_path(str(target)).split(os.pathsep)
                                     if Path(p).resolve() != PACKAGE.resolve())
        result, _ = self.run_bot([sys.executable, str(launcher)], pythonpath)
        self.assert_traded(result)


if __name__ == "__main__":
    unittest.main()
