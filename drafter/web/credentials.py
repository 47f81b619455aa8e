"""The DRAFTER_AUTH users, checked the same way by every gate (the MCP server's, the
LanguageTool API's): HTTP Basic decoded, compared with every user in constant time."""

from __future__ import annotations

import base64
import binascii
import hmac


def basic(header: str | bytes) -> tuple[bytes, bytes] | None:
    """(user, password) of an ``Authorization: Basic …`` header; None when it is not one."""
    raw = header.encode("latin-1") if isinstance(header, str) else header
    scheme, _, value = raw.partition(b" ")
    if scheme.lower() != b"basic":
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).partition(b":")
    except (binascii.Error, ValueError):
        return None
    return (user, password) if sep else None


def known(users: list[tuple[bytes, bytes]], user: bytes, password: bytes) -> bool:
    """Whether (user, password) is one of ``users``; every user is compared (no early exit
    to time), and an empty user name never is one."""
    ok = False
    for u, p in users:
        ok |= hmac.compare_digest(user, u) & hmac.compare_digest(password, p)
    return ok and bool(user)
