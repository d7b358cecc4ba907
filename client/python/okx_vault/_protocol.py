"""What the sync and asyncio clients share: the HTTP/1.1 framing okx-vaultd
speaks (proto/PROTOCOL.md, "Transport") and the reading of its replies.

Only what the protocol uses: requests with a Content-Length body, replies
framed by Content-Length (the daemon sends no chunked replies), keep-alive
unless a reply says `Connection: close`.
"""

import json
import os
import re
import urllib.parse

DEFAULT_SOCKET = "/run/okx-vault/okx-vault.sock"

# Far above any reply of the protocol; a peer that sends more is not okx-vaultd.
MAX_HEAD = 16384
MAX_BODY = 1 << 20


def resolve_socket_path(path=None):
    """The socket to use: `path` if given, else $OKX_VAULT_SOCKET, else the default."""
    return path or os.environ.get("OKX_VAULT_SOCKET") or DEFAULT_SOCKET


class VaultError(Exception):
    """An error from the daemon, with its stable `code` (key_not_found,
    policy_denied, ...), or `unreachable` / `protocol_error` when the daemon
    cannot be reached or answers outside the protocol. `rule` names the policy
    rule behind a policy_denied; `status` is the HTTP status (None if none)."""

    def __init__(self, code, message, status=None, rule=None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.rule = rule


class StaleConnection(Exception):
    """The daemon closed a kept-alive connection before answering; `sent` says
    whether the whole request had been written."""

    def __init__(self, sent):
        super().__init__()
        self.sent = sent


def encode_request(method, target, body):
    """The request's bytes; `body` is bytes or None."""
    if body is None:
        return f"{method} {target} HTTP/1.1\r\nHost: okx-vault\r\n\r\n".encode()
    return f"{method} {target} HTTP/1.1\r\nHost: okx-vault\r\nContent-Type: application/json\r\n" \
           f"Content-Length: {len(body)}\r\n\r\n".encode() + body


_STATUS_LINE = re.compile(rb"HTTP/1\.[01] ([1-9][0-9][0-9])(?: [^\r\n]*)?")


def parse_head(head):
    """(status, content_length, will_close) from a reply's head, its final
    CRLF CRLF included; VaultError protocol_error if it is not HTTP/1.1."""
    lines = head[:-4].split(b"\r\n")
    match = _STATUS_LINE.fullmatch(lines[0])
    if match is None:
        raise VaultError("protocol_error", f"not an HTTP reply: {lines[0][:40]!r}")
    status = int(match.group(1))
    length = 0
    will_close = lines[0].startswith(b"HTTP/1.0")
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon:
            raise VaultError("protocol_error", "malformed header line in the reply", status)
        name = name.strip().lower()
        if name == b"content-length":
            value = value.strip()
            if not value.isdigit() or int(value) > MAX_BODY:
                raise VaultError("protocol_error", "bad Content-Length in the reply", status)
            length = int(value)
        elif name == b"connection":
            will_close = value.strip().lower() == b"close"
        elif name == b"transfer-encoding":
            raise VaultError("protocol_error", "a reply with Transfer-Encoding", status)
    return status, length, will_close


def json_body(request):
    return None if request is None else json.dumps(request, separators=(",", ":")).encode()


def decode_reply(method, target, status, data):
    """The reply's JSON object, or the VaultError it carries."""
    try:
        reply = json.loads(data) if data else {}
    except ValueError:
        raise VaultError("protocol_error", f"reply to {method} {target} is not JSON", status) from None
    if not isinstance(reply, dict):
        raise VaultError("protocol_error", f"reply to {method} {target} is not a JSON object", status)
    if status >= 300:
        error = reply.get("error")
        if not isinstance(error, dict) or not isinstance(error.get("code"), str):
            raise VaultError("protocol_error", f"HTTP {status} without an error object", status)
        raise VaultError(error["code"], str(error.get("message", "")), status, error.get("rule"))
    return reply


def key_target(name, action):
    return "/v1/keys/" + urllib.parse.quote(name, safe="") + "/" + action


def sign_request(method, path, body, timestamp):
    request = {"method": method, "path": path, "body": body}
    if timestamp is not None:
        request["timestamp"] = timestamp
    return request


def repeatable(method, target):
    """Any GET, and POST /v1/keys/{name}/sign or /ws-login (names are quoted):
    sending them twice changes nothing but a usage counter."""
    return method == "GET" or (method == "POST" and re.fullmatch(r"/v1/keys/[^/]+/(sign|ws-login)", target) is not None)


def ws_frame_text(frame):
    return json.dumps(frame, separators=(",", ":"))
