"""What a key looks like, and a server address without one: the one rule the endpoints and
the experiment files use to keep keys out of files, logs and the response cache."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

__all__ = ["SECRET_NAME", "SECRET_VALUE", "looks_like_key", "public_url"]

SECRET_NAME = re.compile(r"^(api[_-]?key|secret(_key)?|password|(access|auth)[_-]?token)$", re.I)
"""A name under which a secret is given (an option, a query parameter)."""
SECRET_VALUE = re.compile(r"^(sk-|sk_|xai-|AIza)[A-Za-z0-9_\-]{16,}$")
"""A value shaped like a provider's key."""
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_URL_PARTS = re.compile(r"[/?&=:@#;]")
"""What separates a URL's parts: a key may be one of them (a gateway's path, a query value,
the password before the host)."""


def looks_like_key(value: str) -> bool:
    """Whether ``value`` is a key, or a URL with a key as one of its parts."""
    parts = _URL_PARTS.split(value) if _URL.match(value) else [value]
    return any(SECRET_VALUE.match(part) for part in parts)


def public_url(url: str) -> str:
    """``url`` as it may be logged and stored (the response cache keys calls by it): without
    the user and password before the host, and with ``***`` for a path segment shaped like a
    key and for a query value shaped like one or named like one. A URL that holds none comes
    back unchanged, so the cache keys of such servers do not move."""
    if not _URL.match(url):
        return url
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    path = "/".join("***" if SECRET_VALUE.match(s) else s for s in parts.path.split("/"))
    query = parts.query
    pairs = parse_qsl(query, keep_blank_values=True)
    if any(SECRET_NAME.match(k) or SECRET_VALUE.match(v) for k, v in pairs):
        query = "&".join(
            f"{quote(k)}=***" if SECRET_NAME.match(k) or SECRET_VALUE.match(v) else f"{k}={v}"
            for k, v in pairs
        )
    if (netloc, path, query) == (parts.netloc, parts.path, parts.query):
        return url
    return urlunsplit((parts.scheme, netloc, path, query, parts.fragment))
