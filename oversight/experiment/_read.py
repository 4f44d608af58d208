"""Reading an experiment's TOML file, merged over the file its ``extends`` names; a file of
another kind (not UTF-8, not TOML, a run's saved ``experiment.json``) refused, saying what
to give instead."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from transcripts.errors import ConfigError

__all__ = ["read_toml"]


def read_toml(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The TOML file at ``path``, merged over the file its ``extends`` key names."""
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder; give the experiment's .toml file")
    if not path.is_file():
        raise ConfigError(f"{path}: no such experiment file")
    try:
        # A byte-order mark (Windows Notepad writes one) is not TOML: read past it.
        data = tomllib.loads(path.read_text(encoding="utf-8").removeprefix("\ufeff"))
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {err.object[err.start]:#04x} at offset {err.start}); "
            f"save the file as UTF-8"
        ) from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot be read: {err.strerror or err}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(_saved_experiment(path) or f"{path}: not valid TOML: {err}") from None
    base = data.pop("extends", None)
    if base is None:
        return data
    if not isinstance(base, str):
        raise ConfigError(f"{path}: extends: give the path of another experiment file")
    parent = (path.parent / base).resolve()
    if parent in seen or parent == path.resolve():
        raise ConfigError(f"{path}: extends: {base!r} extends itself (a cycle)")
    return _merge(read_toml(parent, (*seen, path.resolve())), data)


def _saved_experiment(path: Path) -> str | None:
    """What to run instead when ``path`` is the ``experiment.json`` a run saved (None when
    it is not): the commands that resume and replay that run, from the file it was made of."""
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return None
    if not isinstance(saved, dict) or "spec" not in saved or "spec_hash" not in saved:
        return None
    run = path.parent
    source = saved.get("source")
    given = source if isinstance(source, str) and Path(source).is_file() else "EXPERIMENT.toml"
    return (
        f"{path} is the saved experiment of the run {run} (JSON), not an experiment file; "
        f"give the .toml file the run was made from: to resume it: oversight run {given} "
        f"--out {run}; to replay it: oversight run {given} --out NEW_FOLDER --replay {run}"
    )


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; every other value (arrays included) replaces the base's."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged
