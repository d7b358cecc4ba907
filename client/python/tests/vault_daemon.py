"""A real okx-vaultd in a temporary directory, keys added with the real CLI.

The binaries come from $OKX_VAULTD_BINARY and $OKX_VAULT_CLI_BINARY (ctest sets
them), else from the build directory at the top of the source tree.
"""

import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

_BUILD = Path(__file__).resolve().parents[3] / "build"


def daemon_binary():
    return os.environ.get("OKX_VAULTD_BINARY") or str(_BUILD / "daemon" / "okx-vaultd")


def cli_binary():
    return os.environ.get("OKX_VAULT_CLI_BINARY") or str(_BUILD / "client" / "okx-vault")


class VaultDaemon:
    def __init__(self, *extra_args):
        self._dir = tempfile.TemporaryDirectory(prefix="okxv-py-")
        self.dir = Path(self._dir.name)
        self.socket = str(self.dir / "okx-vault.sock")
        self.log_path = self.dir / "daemon.log"
        self.args = ["--state-dir", str(self.dir / "state"), "--socket", self.socket, "--threads", "2", *extra_args]
        subprocess.run([daemon_binary(), "--init", *self.args], check=True, capture_output=True)
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen([daemon_binary(), *self.args], stdin=subprocess.DEVNULL,
                                        stdout=self._log, stderr=self._log)
        deadline = time.monotonic() + 20
        while not self._listening():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("okx-vaultd did not start: " + self.log())
            time.sleep(0.01)

    def _listening(self):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            return probe.connect_ex(self.socket) == 0

    def cli(self, *args, input_text=""):
        return subprocess.run([cli_binary(), "--socket", self.socket, *args], input=input_text,
                              capture_output=True, text=True)

    def add_key(self, name, api_key, secret, passphrase, *extra):
        """Adds a key with the CLI, the secret and passphrase on its stdin."""
        out = self.cli("add", name, "--api-key", api_key, *extra, input_text=f"{secret}\n{passphrase}\n")
        if out.returncode != 0:
            raise RuntimeError(f"okx-vault add {name} failed: {out.stderr}")
        return out

    def log(self):
        return self.log_path.read_text(errors="replace")

    def state_files(self):
        """Every file the daemon wrote, as bytes, by path."""
        return {path: path.read_bytes() for path in self.dir.rglob("*") if path.is_file()}

    def stop(self):
        """Stops the daemon as systemd would; raises unless it exited cleanly
        (under the sanitizers, a leak or an error makes that exit non-zero)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=20)
        self._log.close()
        if self.process.returncode != 0:
            raise RuntimeError(f"okx-vaultd exited with {self.process.returncode}: " + self.log())

    def close(self):
        try:
            self.stop()
        finally:
            self._dir.cleanup()
