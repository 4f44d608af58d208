"""Import the NYU human-debate dataset (Michael et al. 2023) into a run folder.

Example::

    from transcripts.importers.nyu import import_nyu_debate, questions

    summary = import_nyu_debate("../shared/data/nyu-debate", "runs/nyu")
    print(summary.imported, summary.skipped_by_reason())
    dataset = questions("runs/nyu")      # the imported questions, one per question id

Each room of ``debates-metadata.jsonl`` becomes one transcript (see
:mod:`transcripts.importers._nyu_mapping` for how), with one judgment for the live judge's
final judgement and one per finished offline judge, or is listed in
``<out>/import-skipped.jsonl`` with the reason. Ids derive from room names, so importing
again into the same folder adds only what is missing.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from transcripts._models import Question
from transcripts._store import RunStore
from transcripts.errors import DatasetError
from transcripts.importers._nyu_fields import (
    DATASET,
    LIVE_JUDGE,
    OFFLINE_JUDGE,
    SETTINGS,
    question_of,
)
from transcripts.importers._nyu_format import RoomFile, RoomMeta, read_metadata, read_room_file
from transcripts.importers._nyu_mapping import map_room
from transcripts.importers._tokens import TokenText, render_tokens

__all__ = [
    "DATASET",
    "LIVE_JUDGE",
    "OFFLINE_JUDGE",
    "SETTINGS",
    "SKIPPED_FILE",
    "ImportSummary",
    "SkippedRoom",
    "import_nyu_debate",
    "questions",
    "read_skipped",
]

SKIPPED_FILE = "import-skipped.jsonl"
"""Name, in the run folder, of the list of rooms not imported and why."""
SUMMARY_FILE = "import.json"
"""Name, in the run folder, of the last import's summary."""

NEVER_STARTED = "never started"
MISSING_FILE = "missing room file"
MALFORMED = "malformed room"
DUPLICATE = "duplicate room name"


class SkippedRoom(BaseModel):
    """A room that was not imported."""

    model_config = ConfigDict(frozen=True)

    room: str
    """Room name."""
    reason: str
    """Short reason: ``never started``, ``missing room file``, ``malformed room`` or
    ``duplicate room name``."""
    detail: str = ""
    """What exactly, in words (the file and the problem, for malformed rooms)."""


class ImportSummary(BaseModel):
    """What an import did."""

    model_config = ConfigDict(frozen=True)

    source: str
    """The dataset folder read."""
    out: str
    """The run folder written."""
    run_id: str
    """Run id of that folder."""
    rooms: int
    """Rooms listed in ``debates-metadata.jsonl``."""
    imported: int
    """Transcripts written by this import."""
    already_present: int
    """Rooms whose transcript the folder already held (a repeated import)."""
    judgments: int
    """Judgments written by this import."""
    skipped: list[SkippedRoom] = Field(default_factory=list)
    """Rooms not imported, with the reason."""
    by_setting: dict[str, int] = Field(default_factory=dict)
    """Setting -> rooms in the folder after the import (imported now or before)."""
    by_status: dict[str, int] = Field(default_factory=dict)
    """Room status (``complete``, ``in-progress``) -> rooms in the folder after the import."""
    included_in_paper: int = 0
    """Rooms in the folder that the paper's analysis includes."""
    quotes: int = 0
    """Quotes in the rooms read."""
    unverified_quotes: int = 0
    """Quotes whose span fell outside the story (clipped and marked unverified)."""
    seconds: float = 0.0
    """Wall-clock time of the import, in seconds."""

    def skipped_by_reason(self) -> dict[str, int]:
        """Reason -> number of rooms skipped for it."""
        return dict(Counter(s.reason for s in self.skipped))

    @property
    def present(self) -> int:
        """Rooms in the folder after the import."""
        return self.imported + self.already_present


def _dataset_root(path: str | os.PathLike[str]) -> Path:
    root = Path(path)
    if root.is_file() and root.name.startswith("debates-metadata"):
        root = root.parent
    if not (root / "debates-metadata.jsonl").is_file():
        raise DatasetError(
            f"{root}: no debates-metadata.jsonl here; pass the folder of the NYU debate dataset "
            f"(the one holding debates-metadata.jsonl and debates/official/)"
        )
    return root


class _Stories:
    """Rendered story text, once per story (96 stories serve 631 rooms)."""

    __slots__ = ("_cache",)

    def __init__(self) -> None:
        self._cache: dict[str, tuple[list[str], TokenText]] = {}

    def text(self, room: RoomFile) -> TokenText:
        story = room.setup.story
        cached = self._cache.get(story.story_id)
        if cached is not None and cached[0] == story.tokens:
            return cached[1]
        rendered = render_tokens(story.tokens)
        self._cache[story.story_id] = (story.tokens, rendered)
        return rendered


def import_nyu_debate(path: str | os.PathLike[str], out: str | os.PathLike[str]) -> ImportSummary:
    """Import every room of the dataset at ``path`` into the run folder ``out``.

    Rooms already in ``out`` (same room name) are not written again, so the import can be
    repeated or resumed. Raises :class:`DatasetError` when ``path`` is not the dataset;
    a malformed room is skipped and listed, not fatal.
    """
    began = time.perf_counter()
    root = _dataset_root(path)
    rooms = read_metadata(root / "debates-metadata.jsonl")
    store = RunStore.create(out)
    have_transcripts = store.transcripts.ids()
    have_judgments = store.judgments.ids()
    stories = _Stories()
    skipped: list[SkippedRoom] = []
    names: set[str] = set()
    imported = present = judgments = quotes = unverified = 0
    settings: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    in_paper = 0
    try:
        for meta, raw in rooms:
            file = root / "debates" / "official" / f"{meta.name}.json"
            reason = _skip_reason(meta, file, names)
            names.add(meta.name)
            if reason is not None:
                skipped.append(SkippedRoom(room=meta.name, reason=reason[0], detail=reason[1]))
                continue
            try:
                room = read_room_file(file)
                if not room.rounds:
                    skipped.append(
                        SkippedRoom(
                            room=meta.name,
                            reason=NEVER_STARTED,
                            detail=f"no round was played ({meta.status})",
                        )
                    )
                    continue
                records = map_room(
                    meta, raw, room, stories.text(room), run_id=store.run_id, file=file
                )
            except DatasetError as err:
                skipped.append(SkippedRoom(room=meta.name, reason=MALFORMED, detail=str(err)))
                continue
            transcript = records.transcript
            if transcript.id in have_transcripts:
                present += 1
            else:
                store.transcripts.append(transcript)
                have_transcripts.add(transcript.id)
                imported += 1
            for judgment in records.judgments:
                if judgment.id not in have_judgments:
                    store.judgments.append(judgment)
                    have_judgments.add(judgment.id)
                    judgments += 1
            quotes += records.quotes
            unverified += records.unverified_quotes
            settings[transcript.condition] += 1
            statuses[transcript.metadata["status"]] += 1
            in_paper += bool(transcript.metadata["included_in_paper"])
    finally:
        store.close()
    _write_skipped(store.path / SKIPPED_FILE, skipped)
    summary = ImportSummary(
        source=str(root),
        out=str(store.path),
        run_id=store.run_id,
        rooms=len(rooms),
        imported=imported,
        already_present=present,
        judgments=judgments,
        skipped=skipped,
        by_setting=dict(sorted(settings.items())),
        by_status=dict(sorted(statuses.items())),
        included_in_paper=in_paper,
        quotes=quotes,
        unverified_quotes=unverified,
        seconds=time.perf_counter() - began,
    )
    store.write_json(SUMMARY_FILE, summary.model_dump(mode="json"))
    return summary


def _skip_reason(meta: RoomMeta, file: Path, seen: set[str]) -> tuple[str, str] | None:
    """Why a room is skipped before its file is read, if it is."""
    if meta.name in seen:
        return DUPLICATE, "an earlier line of debates-metadata.jsonl has the same name"
    if meta.status == "WaitingToBegin":
        return NEVER_STARTED, "the room was still waiting for its participants; no round played"
    if not file.is_file():
        return MISSING_FILE, f"{file} does not exist"
    return None


def _write_skipped(target: Path, skipped: list[SkippedRoom]) -> None:
    """Rewrite the skipped list (a repeated import lists the same rooms, not twice)."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for room in skipped:
            f.write(room.model_dump_json() + "\n")
    os.replace(tmp, target)


def questions(source: str | os.PathLike[str] | RunStore) -> list[Question]:
    """The questions of an import or of the dataset itself, one per question id.

    ``source`` is a run folder (or :class:`RunStore`) written by :func:`import_nyu_debate`,
    giving the questions of the imported rooms, or the dataset folder, giving the questions
    of every room (rooms that never started included). Each question has its gold answer,
    the story as hidden context and the story id as source. A question asked in several rooms
    keeps the answer order of the first room listing it.
    """
    if isinstance(source, RunStore):
        return _store_questions(source)
    path = Path(source)
    if (path / "run.json").is_file():
        return _store_questions(RunStore.open(path))
    root = _dataset_root(path)
    stories = _Stories()
    found: dict[str, Question] = {}
    for meta, _ in read_metadata(root / "debates-metadata.jsonl"):
        file = root / "debates" / "official" / f"{meta.name}.json"
        if not file.is_file():
            continue
        room = read_room_file(file)
        try:
            question = question_of(room.setup, stories.text(room))
        except DatasetError as err:
            raise DatasetError(f"{file}: {err}") from err
        found.setdefault(question.id, question)
    return list(found.values())


def _store_questions(store: RunStore) -> list[Question]:
    found: dict[str, Question] = {}
    for transcript in store.transcripts.latest():
        found.setdefault(transcript.question.id, transcript.question)
    return list(found.values())


def read_skipped(out: str | os.PathLike[str]) -> list[SkippedRoom]:
    """The rooms the last import into ``out`` skipped."""
    target = Path(out) / SKIPPED_FILE
    if not target.is_file():
        return []
    return [
        SkippedRoom.model_validate(json.loads(line))
        for line in target.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
