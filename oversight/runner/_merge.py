"""A run's shards merged into its folder: ``RUN/shards/<name>/`` → ``RUN/``.

A run distributed over a Ray cluster (:mod:`oversight.runner._ray`) has each task write its
own store shard, a complete run folder of its own (transcripts, judgments, questions,
escalations, spend and sent ledgers, response cache), so no two machines ever append to one
file. The driver then merges each shard into the run:

1. the shard's response cache rows the run's cache lacks (first, so that a record merged
   into the run always has its calls in the run's cache), and the lines of its batch
   ledger (``batches.jsonl``) that the run's lacks;
2. ``spend.jsonl`` and ``sent.jsonl`` lines, then transcripts, judgments and escalations:
   each record the run lacks, in the shard's order (a record is lacking when no record of
   the run has its id and the same content: a merge run twice adds nothing);
3. the shard folder is renamed to ``.merged-<name>`` (one atomic step) and removed.

A merge cut off at any point is finished by the next one (every ``oversight run`` of the
folder merges what shards it finds before it plans, and ``oversight rejudge`` before it
chooses transcripts), and what it had appended is not appended again.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from filelock import FileLock, Timeout
from pydantic import BaseModel

from oversight.endpoints import Endpoint
from oversight.endpoints._cache import open_cache
from oversight.runner._meter import SentEntry, SpendEntry
from transcripts import JsonlLog, RunStore
from transcripts.errors import ConfigError

__all__ = ["SHARDS", "merge_shard", "merge_shards", "shard_folders"]

SHARDS = "shards"
"""The folder of a run that holds its shards."""

R = TypeVar("R", bound=BaseModel)

BATCHES = "batches.jsonl"
"""The batch ledger beside a response cache (batches of ``batch = true`` endpoints in flight):
merged with the cache, so a resume finds the batches a shard's task had submitted."""

MERGE_WAIT_S = 60.0
"""How long a merge waits for a Ray task still writing its shard (of a driver that was
killed: the cluster ends its tasks soon after)."""


def shard_folders(run: Path) -> list[Path]:
    """The run's shards not merged yet, by name."""
    folder = run / SHARDS
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def merge_shards(
    store: RunStore,
    endpoints: list[Endpoint],
    *,
    cache: Path | bool | None = None,
    say: Callable[[str], object] | None = None,
) -> int:
    """Merge every shard of ``store``'s run into it (``endpoints``: the run's, whose response
    caches take the shards' rows; ``cache``: the run's response cache option, for a caller
    with no endpoint of the run, such as ``oversight rejudge``); return how many records
    were added. A wait for a Ray task still writing its shard is said through ``say``
    (default: standard error)."""
    caches = _caches(endpoints)
    if cache is not None and (opened := open_cache(cache)) is not None:
        caches[id(opened)] = opened  # the process's one cache of that file: the same object
    tell = say or _to_stderr
    added = sum(_merge_shard(store, shard, caches, tell) for shard in shard_folders(store.path))
    for left in (store.path / SHARDS).glob(".merged-*"):
        shutil.rmtree(left, ignore_errors=True)  # a removal cut off last time
    return added


def merge_shard(store: RunStore, shard: Path, endpoints: list[Endpoint]) -> int:
    """Merge one shard folder into ``store``'s run, then remove it; return how many
    records were added."""
    return _merge_shard(store, shard, _caches(endpoints), _to_stderr)


def _to_stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _caches(endpoints: list[Endpoint]) -> dict[int, Any]:
    """The response caches of ``endpoints``, each once."""
    return {id(c): c for e in endpoints if (c := getattr(e, "cache", None)) is not None}


def _merge_shard(
    store: RunStore, shard: Path, caches: dict[int, Any], say: Callable[[str], object]
) -> int:
    lock = shard_lock(shard)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        say(
            f"waiting up to {MERGE_WAIT_S:.0f} s for a Ray task still writing {shard} (its "
            f"driver stopped; the cluster ends such tasks soon), to merge the shard into the "
            f"run; Ctrl-C stops the wait (the next run or rejudge of the folder merges it)"
        )
        try:
            lock.acquire(timeout=MERGE_WAIT_S)
        except Timeout:
            raise ConfigError(
                f"{shard} is still being written by a Ray task (of a driver that stopped?); "
                f"wait for the cluster to end it, then run again to resume"
            ) from None
    try:
        added = _merge(store, shard, caches)
    finally:
        lock.release()
    done = shard.with_name(f".merged-{shard.name}")
    shutil.rmtree(done, ignore_errors=True)
    shard.rename(done)
    shutil.rmtree(done, ignore_errors=True)
    return added


def shard_lock(shard: Path, *, timeout: float = -1) -> FileLock:
    """The lock a Ray task holds on its shard while it writes it (an OS lock: it goes
    with the task's process)."""
    return FileLock(shard / ".shard.lock", timeout=timeout, thread_local=False)


def _merge(store: RunStore, shard: Path, caches: dict[int, Any]) -> int:
    cached = shard / "cache.sqlite"
    if cached.exists():
        for cache in caches.values():
            cache.absorb(cached)
    added = _merge_lines(store.path / BATCHES, shard / BATCHES)
    for name, model in (("spend.jsonl", SpendEntry), ("sent.jsonl", SentEntry)):
        added += _merge_log(
            JsonlLog(store.path / name, model),
            JsonlLog(shard / name, model),  # type: ignore[arg-type]
        )
    source = RunStore.open(shard)
    try:
        added += _merge_log(store.transcripts, source.transcripts)
        added += _merge_log(store.judgments, source.judgments)
        added += _merge_log(store.escalations, source.escalations)
    finally:
        source.close()
    return added


def _merge_lines(target: Path, source: Path) -> int:
    """Append the lines of ``source`` that ``target`` lacks, in one write; how many."""
    if not source.exists():
        return 0
    have = set(target.read_bytes().splitlines()) if target.exists() else set()
    new = [line for line in source.read_bytes().splitlines() if line.strip() and line not in have]
    if new:
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, b"".join(line + b"\n" for line in new))
            os.fsync(fd)
        finally:
            os.close(fd)
    return len(new)


def _merge_log(target: JsonlLog[R], source: JsonlLog[R]) -> int:
    """Append each record of ``source`` that ``target`` lacks; return how many."""
    if not source.path.exists():
        return 0
    have = defaultdict(list)
    for entry in target.entries():
        have[entry.id].append(entry)
    added = 0
    for record in source:
        same = have.get(str(getattr(record, "id", "")))
        if same:
            text = record.model_dump_json()
            if any(r.model_dump_json() == text for r in target.read(same)):
                continue
        target.append(record)
        added += 1
    target.close()
    return added
