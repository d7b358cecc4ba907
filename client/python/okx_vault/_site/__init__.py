"""The directory okx-vault-ccxt puts first on PYTHONPATH: see sitecustomize.py."""
