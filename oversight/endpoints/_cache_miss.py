"""Why an offline request missed the cache: what differs from the most alike cached request.

A cache row keeps the endpoint and the canonical JSON its key was made of (the backend's
identity and the request's answer fields), so the rows of the same endpoint can be read
back and compared field by field with the request that missed: the one with the fewest
differing fields is named, with those fields (``system``, ``messages[1].content``,
``max_tokens: 300 -> 200``...). Only the endpoint's most recent rows are read
(:meth:`~oversight.endpoints._cache.ResponseCache.nearest_difference`), and only for an
endpoint's first misses, so a replay whose every call misses does not read the cache
once per call.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

__all__ = ["differences", "nearest_difference"]


def nearest_difference(endpoint: str, canonical: str, cached: Iterable[str]) -> str | None:
    """What differs between the request ``canonical`` (a cache key's JSON) and the most
    alike of ``cached`` (the same endpoint's cached requests, as JSON); None when there is
    none."""
    wanted = json.loads(canonical)
    best: list[str] | None = None
    for stored in cached:
        try:
            found = differences(json.loads(stored), wanted)
        except ValueError:
            continue
        if found and (best is None or len(found) < len(best)):
            best = found
            if len(best) == 1:
                break
    if best is None:
        return None
    shown = best[:4] + ([f"and {len(best) - 4} more"] if len(best) > 4 else [])
    return f"the most alike cached request of {endpoint} differs in: {'; '.join(shown)}"


def differences(cached: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """The fields that differ between two cache-key materials, request fields by their own
    name (``messages[i]`` by message)."""
    found = _fields(cached, wanted, "", skip="request")
    old, new = cached.get("request") or {}, wanted.get("request") or {}
    for key in sorted(set(old) | set(new)):
        if key == "messages":
            found.extend(_messages(old.get(key) or [], new.get(key) or []))
        elif old.get(key) != new.get(key):
            found.append(_changed(key, old.get(key), new.get(key)))
    return found


def _fields(old: dict[str, Any], new: dict[str, Any], where: str, *, skip: str) -> list[str]:
    return [
        _changed(f"{where}{key}", old.get(key), new.get(key))
        for key in sorted(set(old) | set(new))
        if key != skip and old.get(key) != new.get(key)
    ]


def _messages(old: list[Any], new: list[Any]) -> Iterable[str]:
    if len(old) != len(new):
        yield f"messages: {len(old)} cached, {len(new)} now"
    for i, (a, b) in enumerate(zip(old, new, strict=False)):
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            yield from _fields(a, b, f"messages[{i}].", skip="")
        else:
            yield _changed(f"messages[{i}]", a, b)


def _changed(field: str, old: Any, new: Any) -> str:
    if isinstance(old, str) and isinstance(new, str):
        pairs = enumerate(zip(old, new, strict=False))
        at = next((i for i, (a, b) in pairs if a != b), min(len(old), len(new)))
        return f"{field} (from character {at}: cached {_excerpt(old, at)}, now {_excerpt(new, at)})"
    return f"{field}: {_short(old)} -> {_short(new)}"


def _excerpt(text: str, at: int) -> str:
    """The 60 characters of ``text`` around ``at`` (20 before it), cut ends marked."""
    start = max(0, at - 20)
    part = text[start : at + 40]
    return repr(("..." if start else "") + part + ("..." if len(text) > at + 40 else ""))


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True) if value is not None else "absent"
    return text if len(text) <= 60 else text[:57] + "..."
