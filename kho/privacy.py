"""Keyed pseudonyms for personal identifiers (Decree 13/2023 on personal data protection).

HMAC-SHA256 with a managed key: stable across runs (joins work), not reversible without
the key, and not guessable by hashing all 10^12 possible CCCDs, as a plain hash would be.
"""

from __future__ import annotations

import hashlib
import hmac

PSEUDONYM_HEX_CHARS = 32  # 128 bits: collision-free at national scale, short enough to read


def pseudonym(key: bytes, identifier: str | None, *, kind: str = "cccd") -> str | None:
    """Pseudonym of one identifier; ``kind`` keeps a CCCD and a tax code with equal digits apart."""
    if identifier is None:
        return None
    mac = hmac.new(key, f"{kind}:{identifier}".encode(), hashlib.sha256)
    return mac.hexdigest()[:PSEUDONYM_HEX_CHARS]
