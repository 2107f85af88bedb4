"""Optional API keys: read from a file (one key a line), sent as ``X-API-Key: KEY`` or
``Authorization: Bearer KEY``, compared in constant time. Keys are never logged or echoed."""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Mapping

from xfas.errors import XfasError

KEY_HEADER = "x-api-key"
BEARER = "bearer "


def load_api_keys(path: str | Path) -> tuple[str, ...]:
    """The keys in ``path``: one a line; blank lines and lines starting with '#' are skipped."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise XfasError(f"{path}: cannot read the API key file ({error})") from None
    keys = tuple(line.strip() for line in text.splitlines()
                 if line.strip() and not line.strip().startswith("#"))
    if not keys:
        raise XfasError(f"{path}: no API key in the file (one key a line)")
    return keys


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The key a request carries (``X-API-Key`` first, then a Bearer token), or None."""
    key = headers.get(KEY_HEADER)
    if key:
        return key.strip()
    authorization = headers.get("authorization", "")
    if authorization[:len(BEARER)].lower() == BEARER:
        return authorization[len(BEARER):].strip() or None
    return None


class KeyChecker:
    """Accepts a request when its key equals one of ``keys``; with no keys, accepts all.

    Every key is compared (``hmac.compare_digest``), whatever matched before, so the time
    taken does not tell which key or how much of it was right.
    """

    def __init__(self, keys: tuple[str, ...] = ()) -> None:
        self._keys = tuple(key.encode("utf-8") for key in keys)

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def accepts(self, headers: Mapping[str, str]) -> bool:
        if not self._keys:
            return True
        key = presented_key(headers)
        if key is None:
            return False
        candidate = key.encode("utf-8")
        matched = False
        for known in self._keys:
            matched |= hmac.compare_digest(candidate, known)
        return matched

    def __repr__(self) -> str:  # never show the keys
        return f"KeyChecker({len(self._keys)} keys)"
