"""The batch ledger (``batches.jsonl``): each batch's intent before it is created, its id
once accepted, its end; and the custom ids that tie a batch's requests to their cache keys."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transcripts._questions import _flocked, append_whole
from transcripts.errors import ConfigError

__all__ = ["BatchLedger", "Intent", "custom_id", "key_part", "ledger_for"]

_KEY_CHARS = 47  # of the cache key in a custom id: 16 + 1 + 47 = 64, Anthropic's limit


def custom_id(submission: str, key: str) -> str:
    """The id of the request with cache key ``key`` in the batch ``submission``: the batch's
    nonce, then the key, so no other batch (one carrying the same requests again, say) has
    the same set of ids."""
    return f"{submission[:16]}-{key[:_KEY_CHARS]}"


def key_part(custom: str) -> str:
    """The cache-key part of a custom id (older ledgers' ids are the whole key)."""
    return custom.rpartition("-")[2][:_KEY_CHARS]


@dataclass(frozen=True)
class Intent:
    """A batch as the ledger has it before the provider is asked to create it."""

    submission: str
    """The batch's nonce (its label, where the provider keeps labels)."""
    keys: tuple[str, ...]
    """Cache keys of the requests it carries."""
    at: float = 0.0
    """Our clock (Unix seconds) when the intent was written; 0: unknown (an older ledger)."""

    @property
    def custom_ids(self) -> frozenset[str]:
        """The requests' ids in the batch."""
        return frozenset(custom_id(self.submission, k) for k in self.keys)


@dataclass
class BatchLedger:
    """``batches.jsonl``: every batch's intent, its id once accepted, and its end."""

    path: Path
    """The ledger file (JSON Lines, appended and fsynced record by record)."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, entry: dict[str, Any]) -> None:
        """Append one entry durably (a kill after this returns cannot lose it); a write the
        disk cuts short is taken back and raised as a StoreError (a partial line would take
        the next entry with it, and a batch unknown to the ledger is sent and paid again)."""
        line = (json.dumps(entry, sort_keys=True) + "\n").encode()
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                with _flocked(fd):  # whole lines, as the run's logs: a short write taken back
                    append_whole(fd, line, self.path)
                    os.fsync(fd)
            finally:
                os.close(fd)

    def entries(self) -> list[dict[str, Any]]:
        """Every readable entry (a torn last line from a crash is skipped)."""
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_bytes().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                out.append(entry)
        return out

    def open_batches(
        self, endpoint: str
    ) -> tuple[dict[str, str], dict[str, Intent], dict[str, frozenset[str]]]:
        """Request key -> id of the latest batch of ``endpoint`` that carries it, where a
        batch whose id was never written down is ``?<submission>``; those submissions'
        intents; and each batch id's custom ids (the requests it carries)."""
        owner: dict[str, str] = {}
        labels: dict[str, str] = {}
        intents: dict[str, Intent] = {}
        carried: dict[str, frozenset[str]] = {}
        for entry in self.entries():
            if entry.get("endpoint") != endpoint:
                continue
            submission = str(entry.get("submission", ""))
            if entry.get("event") == "submitting":
                keys = tuple(entry.get("keys", []))
                intents[submission] = Intent(submission, keys, float(entry.get("at", 0.0)))
                for key in keys:
                    owner[key] = "?" + submission
            elif entry.get("event") == "submitted":
                labels[submission] = entry["batch_id"]
                carried[entry["batch_id"]] = Intent(
                    submission, tuple(entry.get("keys", []))
                ).custom_ids
                for key in entry.get("keys", []):
                    owner[key] = entry["batch_id"]
        known = {
            key: labels.get(value[1:], value) if value.startswith("?") else value
            for key, value in owner.items()
        }
        pending = {v[1:] for v in known.values() if v.startswith("?")}
        return known, {s: intents[s] for s in pending}, carried


def ledger_for(cache_path: Path | None, spec: str) -> BatchLedger:
    """The ledger beside the response cache (the run folder's, for runs and re-judging)."""
    if cache_path is None:
        raise ConfigError(
            f"endpoint {spec!r}: batch=True needs the response cache (it keeps the batches' "
            "replies and, beside it, the ledger that lets a killed run resume them): drop "
            "cache=False"
        )
    return BatchLedger(cache_path.parent / "batches.jsonl")
