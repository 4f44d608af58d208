"""The run store: one folder per run, append-only JSON Lines, safe against crashes.

Layout of a run folder::

    RUN/
      run.json            run id and creation time
      experiment.json     the frozen experiment spec and its hash (written by the runner)
      transcripts.jsonl   one Transcript a line; its question by content hash (``question_ref``)
      questions.jsonl     each distinct question once, keyed by the hash of its content
      *.jsonl.idx         each log's index (SQLite): id, status and byte span of every record
      judgments.jsonl     one Judgment a line (separate, so re-judging only appends)
      escalations.jsonl   items a fallback judge sent to a human, served by ``oversight judge``
      reports/            reports and plots

Each log is a :class:`transcripts._log.JsonlLog`: see there for what appending and
reading guarantee (single writes under a lock, torn lines set aside, streaming reads,
deterministic duplicates, schema versions).
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection
from pathlib import Path
from typing import Any

from transcripts._index import Entry
from transcripts._judgments import Escalation, Judgment
from transcripts._log import JsonlLog
from transcripts._models import SCHEMA_VERSION, Transcript, new_id, utc_now
from transcripts.errors import StoreError
from transcripts.final import JudgmentKey, final_judgments

__all__ = ["RunStore", "write_json_atomic"]


class RunStore:
    """One run's folder.

    Example::

        store = RunStore.create("runs/pilot")
        store.transcripts.append(transcript)
        for judgment in store.judgments.latest():
            ...
    """

    def __init__(self, path: Path, *, fsync: bool = False) -> None:
        self.path = path
        meta = path / "run.json"
        if not meta.exists():
            _refuse_records_without_run_json(path)
            raise StoreError(
                f"{path} is not a run folder (no run.json): give the folder `oversight run` "
                f"wrote, or make one with `oversight run EXPERIMENT.toml --out {path}`"
            )
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
            self.run_id: str = str(data["run_id"])
        except (ValueError, KeyError, TypeError) as err:
            raise StoreError(
                f"{meta} is damaged ({type(err).__name__}: {err}); it should hold "
                f'{{"run_id": "..."}}: restore it from a backup, or run into a new folder'
            ) from None
        version = data.get("schema_version")
        if isinstance(version, int) and version > SCHEMA_VERSION:
            # Before any file of the run is read: a later version may have added keys to
            # files beside its records (schema 5 did), which this code would fail on.
            raise StoreError(
                f"{path} was written with schema_version {version}, but this oversight "
                f"reads up to {SCHEMA_VERSION}; upgrade oversight to read this run"
            )
        self.transcripts: JsonlLog[Transcript] = JsonlLog(
            path / "transcripts.jsonl", Transcript, fsync=fsync, share_questions=True
        )
        self.judgments: JsonlLog[Judgment] = JsonlLog(
            path / "judgments.jsonl",
            Judgment,
            fsync=fsync,
        )
        self.escalations: JsonlLog[Escalation] = JsonlLog(
            path / "escalations.jsonl", Escalation, fsync=fsync
        )

    @classmethod
    def create(cls, path: str | os.PathLike[str], *, run_id: str | None = None) -> RunStore:
        """Open the run folder at ``path``, creating it (and its run id) if needed."""
        folder = Path(path)
        if folder.exists() and not folder.is_dir():
            raise StoreError(f"{folder} is a file, not a run folder: give a folder (--out DIR)")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StoreError(
                f"cannot create the run folder {folder}: {err.strerror or err}; give another --out"
            ) from None
        meta = folder / "run.json"
        if not meta.exists():
            # A new run id over records of another would mix two runs in one folder.
            _refuse_records_without_run_json(folder)
            write_json_atomic(
                meta,
                {
                    "run_id": run_id or new_id(),
                    "created_at": utc_now().isoformat(),
                    "schema_version": SCHEMA_VERSION,
                },
            )
        return cls(folder)

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> RunStore:
        """Open an existing run folder."""
        folder = Path(path)
        if folder.is_file():
            held = (folder.parent / "run.json").is_file()
            raise StoreError(
                f"{folder} is a file, not a run folder: give "
                + (f"the folder that holds it ({folder.parent})" if held else "a run's folder")
            )
        if not folder.is_dir():
            raise StoreError(f"no run folder at {folder}: check the path")
        return cls(folder)

    def judgment_entries(self, transcripts: Collection[str] | None = None) -> list[Entry]:
        """The index entries of the latest judgments (:meth:`JsonlLog.latest_entries`), in
        file order, without their extra fields; only the judgments of ``transcripts`` (their
        ids) when given, chosen by the transcript id the index keeps of each, so no judgment
        is read to choose it."""
        if transcripts is None:
            return self.judgments.latest_entries(extra=False)
        entries = self.judgments.latest_entries()
        return [e._replace(extra=None) for e in entries if (e.extra or {}).get("t") in transcripts]

    def final_judgment_entries(
        self, transcripts: Collection[str] | None = None
    ) -> list[tuple[JudgmentKey, Entry]]:
        """The judgments that count (:func:`transcripts.final.final_judgments`; only those
        of ``transcripts`` when given), as the key the rule reads and the index entry to
        read the judgment by, in the order they were written: each judgment is read once
        and only its key kept, so a large run's judgments are never all in memory."""
        entries = self.judgment_entries(transcripts)
        keys = [JudgmentKey.of(j) for j in self.judgments.read(entries)]
        at = {key.id: entry for key, entry in zip(keys, entries, strict=True)}
        return [(key, at[key.id]) for key in final_judgments(keys)]

    def write_json(self, name: str, data: Any) -> Path:
        """Write ``data`` as JSON to ``name`` in the run folder, atomically."""
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(target, data)
        return target

    def read_json(self, name: str) -> Any:
        """Read a JSON file of the run folder; None when it does not exist."""
        target = self.path / name
        if not target.exists():
            return None
        try:
            return json.loads(target.read_text(encoding="utf-8"))
        except ValueError as err:  # JSONDecodeError and UnicodeDecodeError alike
            raise StoreError(
                f"{target} is damaged and cannot be read ({err}); restore it from a copy, "
                f"or run into a new folder"
            ) from None

    def close(self) -> None:
        """Close open file descriptors (and the logs' index databases, so no ``-wal`` file
        stays in the run folder)."""
        for log in (self.transcripts, self.judgments, self.escalations):
            log.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_json_atomic(target: Path, data: Any) -> None:
    """Write JSON through a temporary file and a rename, so readers never see half a file."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    os.replace(tmp, target)


def _refuse_records_without_run_json(folder: Path) -> None:
    """Refuse a folder whose records are there but whose ``run.json`` is not (deleted, or
    left out of a copy), naming the run id the records carry."""
    for name in ("transcripts.jsonl", "judgments.jsonl"):
        log = folder / name
        if log.is_file() and log.stat().st_size:
            with open(log, "rb") as f:
                first = f.readline()
            try:
                run_id = json.loads(first).get("run_id")
            except (ValueError, AttributeError):
                run_id = None
            named = f' ({{"run_id": "{run_id}"}}, as its records say)' if run_id else ""
            raise StoreError(
                f"{folder} holds a run's records ({name}) but no run.json, which names the "
                f"run: restore run.json from a backup{named}, or give a new folder"
            )
