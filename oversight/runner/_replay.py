"""``--replay RUN``: the run's response cache copied into a new folder, run offline.

A replay answers every call from the cache, so it reproduces only the experiment the run
ran: one that differs (another model, prompt option, seed, dataset...) would send requests
the cache cannot answer, and every item they touch would fail offline. Such a replay is
refused before the new folder is made, as a resume of a changed experiment is, naming
what changed; only ``[limits]`` (and ``out``, ``description``) may differ. So is a replay
by an oversight whose prompts for some role differ from those the run recorded
(:mod:`oversight.runner._prompts`), naming the roles.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from oversight.experiment import Experiment
from oversight.runner._prompts import changed_roles, roles_text
from transcripts.errors import ConfigError

__all__ = ["check_replay", "replay_cache", "replay_origin", "same_experiment", "spec_changes"]


def same_experiment(existing: dict[str, Any], experiment: Experiment) -> bool:
    """Whether the run frozen in ``existing`` (its ``experiment.json``) is ``experiment``.

    The stored hash decides when it matches. Otherwise the stored spec is read again by
    today's code and compared without what may change (:meth:`Experiment.fixed`): a run
    written by an older oversight, whose spec lacked fields added since (with defaults that
    keep its meaning), is still the same experiment, and so is one whose endpoints read
    their key from another variable or are paced differently.
    """
    if existing.get("spec_hash") == experiment.spec_hash():
        return True
    try:
        again = Experiment.model_validate(existing.get("spec", {}))
    except ValidationError:
        return False
    return again.fixed() == experiment.fixed()  # endpoints' free settings aside


def spec_changes(existing: dict[str, Any], experiment: Experiment, *, most: int = 6) -> str:
    """What differs between the frozen spec and ``experiment``'s, key by key
    (``endpoints.weak.spec: 'a' -> 'b'``), at most ``most`` of them."""
    old: Any = existing.get("spec", {})
    with contextlib.suppress(ValidationError):  # as today's code reads it, defaults filled
        old = Experiment.model_validate(old).fixed()
    new = experiment.fixed()
    found: list[str] = []
    for key in sorted(set(old) | set(new)):
        if key not in Experiment.free_keys:
            found.extend(_differences(old.get(key), new.get(key), key))
    shown = found[:most]
    if len(found) > most:
        shown.append(f"and {len(found) - most} more")
    return "; ".join(shown) or "details"


def _differences(old: Any, new: Any, where: str) -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        return [
            line
            for key in sorted(set(old) | set(new), key=str)
            for line in _differences(old.get(key), new.get(key), f"{where}.{key}")
        ]
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [
            line
            for i, (a, b) in enumerate(zip(old, new, strict=True))
            for line in _differences(a, b, f"{where}[{i}]")
        ]
    return [] if old == new else [f"{where}: {_short(old)} -> {_short(new)}"]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def replay_origin(source: Path) -> Path:
    """The response cache file ``--replay`` names (a run folder or the file itself)."""
    origin = source / "cache.sqlite" if source.is_dir() else source
    if not origin.is_file():
        raise ConfigError(
            f"nothing to replay: no response cache at {origin}; give --replay a "
            f"finished run's folder"
        )
    with open(origin, "rb") as f:
        header = f.read(16)
    # Checked before the new folder is made; an empty file is an empty SQLite database.
    if header and header != b"SQLite format 3\x00":
        raise ConfigError(
            f"--replay: {origin} is not a response cache (not an SQLite database): give "
            f"--replay a finished run's folder, or its cache.sqlite"
        )
    return origin


def check_replay(
    source: Path,
    experiment: Experiment,
    questions_hash: str,
    prompts: dict[str, Any] | None = None,
) -> str | None:
    """Refuse to replay ``source`` with an experiment other than the one it ran, with
    questions other than its own, or where today's oversight sends other prompts than the
    run's (``prompts``: today's :func:`~oversight.runner._prompts.prompt_fingerprint`). A
    cache file given alone has no experiment to check. Returns a note to show when the
    run's prompts cannot be checked (it was made before they were recorded)."""
    replay_origin(source)
    frozen_at = source / "experiment.json"
    if not source.is_dir() or not frozen_at.is_file():
        return None
    try:
        existing = json.loads(frozen_at.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigError(f"--replay: cannot read {frozen_at}: {err}") from None
    if not isinstance(existing, dict):
        raise ConfigError(f"--replay: {frozen_at} does not hold a run's experiment")
    if not same_experiment(existing, experiment):
        what = spec_changes(existing, experiment)
    elif existing.get("questions_hash") not in (None, questions_hash):
        what = "the dataset's questions (the file at dataset.path was edited or replaced)"
    elif prompts is None:
        return None
    else:
        return _check_prompts(source, existing.get("prompts"), prompts)
    raise ConfigError(
        f"--replay: this experiment is not the experiment {source} ran (changed: {what}); "
        f"a replay answers every call from that run's cache, so the requests these change "
        f"would all miss it. Replay with the experiment as the run ran it (its spec is in "
        f"{frozen_at}), or, to reproduce what the cache still answers and see each miss, "
        f"copy {replay_origin(source)} into a new run folder and run there with --offline "
        f"(without --offline, the missing requests are sent and paid)"
    )


def _check_prompts(source: Path, recorded: object, prompts: dict[str, Any]) -> str | None:
    """Refuse when the prompts of some role changed since ``source`` was run; the note to
    show when its prompts cannot be compared."""
    changed = changed_roles(recorded, prompts)
    if changed is None:
        how = (
            "did not record its prompts"
            if recorded is None
            else "recorded its prompts another way (an earlier fingerprint)"
        )
        return (
            f"--replay: {source} was made by an oversight that {how}, "
            f"so whether today's prompts are the ones its cache holds cannot be checked; "
            f"a call whose prompt changed since fails as a cache miss (CacheMissError)"
        )
    if not changed:
        return None
    raise ConfigError(
        f"--replay: the prompts of {roles_text(changed)} are not the ones {source} was run "
        f"with: this oversight words or renders them differently (a protocol's or judge's template "
        f"changed since), so their requests would all miss the run's cache and fail. "
        f"Replay with the oversight version that made the run, or run this experiment "
        f"without --replay (its calls are sent and paid); to keep what the cache still "
        f"answers, copy {replay_origin(source)} into a new run folder and run there (with "
        f"--offline, each changed call fails as a cache miss and nothing is sent)"
    )


def replay_cache(source: Path, folder: Path) -> Path:
    """The cache to replay from: the source run's, copied into the new run folder."""
    origin = replay_origin(source)
    target = folder / "cache.sqlite"
    if target.resolve() != origin.resolve():
        # SQLite's backup reads a consistent copy, including what sits in the write-ahead log.
        with (
            contextlib.closing(sqlite3.connect(origin)) as reader,
            contextlib.closing(sqlite3.connect(target)) as writer,
        ):
            reader.backup(writer)
    return target
