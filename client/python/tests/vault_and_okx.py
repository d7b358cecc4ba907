"""A test class's real okx-vaultd holding one key as "main" (and as "demo",
simulated, if DEMO), and a stand-in OKX that knows the key: a mixin whose
setUpClass starts both from the class's CREDENTIALS and tearDownClass stops them."""

from okx_standin import OkxStandIn
from vault_daemon import VaultDaemon


class VaultAndOkx:
    CREDENTIALS = None  # (api key, secret, passphrase), set by the test class
    DEMO = False

    @classmethod
    def setUpClass(cls):
        api_key, secret, passphrase = cls.CREDENTIALS
        cls.daemon = VaultDaemon()
        cls.daemon.add_key("main", api_key, secret, passphrase)
        if cls.DEMO:
            cls.daemon.add_key("demo", api_key, secret, passphrase, "--simulated")
        cls.okx = OkxStandIn({api_key: (secret, passphrase)})

    @classmethod
    def tearDownClass(cls):
        cls.okx.close()
        cls.daemon.close()
