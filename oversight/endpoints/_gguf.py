"""What a local model file says about itself: context length, chat template, content hash.

Hand-written on purpose: the ``gguf`` package's reader parses every tokenizer array into
numpy objects (about 30 s for Gemma's 262k-entry vocabulary on a small CPU), where we need
three scalar keys from the header. This reads the header's key-value section only, skipping
arrays by their sizes, following the GGUF v2/v3 layout (little-endian).
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from transcripts.errors import ConfigError

__all__ = ["GGUFInfo", "content_hash", "read_info"]

# Scalar value types: GGUF type id -> struct format.
_SCALARS = {
    0: "B",
    1: "b",
    2: "H",
    3: "h",
    4: "I",
    5: "i",
    6: "f",
    7: "?",
    10: "Q",
    11: "q",
    12: "d",
}
_STRING, _ARRAY = 8, 9


@dataclass(frozen=True)
class GGUFInfo:
    """The few facts of a GGUF file's header that the local endpoint uses."""

    architecture: str
    """``general.architecture``, e.g. ``gemma3``."""
    context_length: int | None
    """``<architecture>.context_length``: the context the model was trained for, in tokens."""
    chat_template: str | None
    """``tokenizer.chat_template`` (a Jinja template), or None when the file carries none."""
    name: str | None = None
    """``general.name``, e.g. ``Gemma 3 270m``."""


def read_info(path: Path) -> GGUFInfo:
    """The header facts of the GGUF file at ``path``; a ConfigError if it is not one."""
    values: dict[str, Any] = {}
    try:
        with path.open("rb") as f:
            if f.read(4) != b"GGUF":
                raise ConfigError(f"{path} is not a GGUF model file (no GGUF magic number)")
            (version,) = _unpack(f, "I")
            if version < 2:
                raise ConfigError(f"{path}: GGUF version {version} is too old; convert it anew")
            _unpack(f, "Q")  # tensor count
            (count,) = _unpack(f, "Q")
            for _ in range(count):
                key = _string(f)
                (kind,) = _unpack(f, "I")
                values[key] = _value(f, kind)
    except (OSError, struct.error, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read the GGUF header ({err})") from err
    arch = str(values.get("general.architecture", ""))
    length = values.get(f"{arch}.context_length")
    template = values.get("tokenizer.chat_template")
    name = values.get("general.name")
    return GGUFInfo(
        architecture=arch,
        context_length=int(length) if isinstance(length, int) else None,
        chat_template=template if isinstance(template, str) and template.strip() else None,
        name=name if isinstance(name, str) else None,
    )


def _unpack(f: BinaryIO, fmt: str) -> tuple[Any, ...]:
    fmt = "<" + fmt
    data = f.read(struct.calcsize(fmt))
    return struct.unpack(fmt, data)


def _string(f: BinaryIO) -> str:
    (n,) = _unpack(f, "Q")
    return f.read(n).decode("utf-8")


def _value(f: BinaryIO, kind: int) -> Any:
    """One value; arrays are skipped (None), since no key we read is an array."""
    if kind in _SCALARS:
        return _unpack(f, _SCALARS[kind])[0]
    if kind == _STRING:
        return _string(f)
    if kind == _ARRAY:
        (item, n) = _unpack(f, "IQ")
        if item in _SCALARS:
            f.seek(struct.calcsize("<" + _SCALARS[item]) * n, os.SEEK_CUR)
        elif item == _STRING:
            for _ in range(n):
                (size,) = _unpack(f, "Q")
                f.seek(size, os.SEEK_CUR)
        else:
            for _ in range(n):
                _value(f, item)
        return None
    raise struct.error(f"unknown GGUF value type {kind}")


_hashes: dict[tuple[str, int, int], str] = {}
_hash_lock = threading.Lock()


def content_hash(path: Path) -> str:
    """SHA-256 of the model file's bytes: its identity in the response cache and the run.

    Hashing a large model takes a while, so the hash is kept in memory and in
    ``~/.cache/oversight/model-hashes.json`` (or next to ``$OVERSIGHT_CACHE``), keyed by
    the file's resolved path, size and modification time: an edited or replaced file is
    hashed anew.
    """
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _hash_lock:
        if key in _hashes:
            return _hashes[key]
        store = _hash_file()
        saved = _load(store)
        name = json.dumps(key)
        digest = saved.get(name)
        if not isinstance(digest, str):
            sha = hashlib.sha256()
            with path.open("rb") as f:
                while chunk := f.read(1 << 20):
                    sha.update(chunk)
            digest = sha.hexdigest()
            saved[name] = digest
            try:
                store.parent.mkdir(parents=True, exist_ok=True)
                tmp = store.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(json.dumps(saved, indent=1))
                tmp.replace(store)
            except OSError:
                pass  # a read-only home: the hash is recomputed next time, nothing is lost
        _hashes[key] = digest
        return digest


def _hash_file() -> Path:
    cache = os.environ.get("OVERSIGHT_CACHE")
    folder = Path(cache).expanduser().parent if cache else Path.home() / ".cache" / "oversight"
    return folder / "model-hashes.json"


def _load(store: Path) -> dict[str, Any]:
    try:
        data = json.loads(store.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
