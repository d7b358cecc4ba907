"""OKX V5 signatures computed independently of okx-vaultd, and the shared vectors."""

import base64
import datetime
import hashlib
import hmac
import json
from pathlib import Path

VECTORS = Path(__file__).resolve().parents[3] / "tests" / "data" / "okx_v5_sign_vectors.json"


def okx_sign(secret, prehash):
    return base64.b64encode(hmac.new(secret.encode(), prehash.encode(), hashlib.sha256).digest()).decode()


def now_iso():
    """The current time as OKX wants it: 2020-12-08T09:08:57.715Z."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def vectors(kind):
    return [v for v in json.loads(VECTORS.read_text()) if v["kind"] == kind]
