"""Questions stored once per run: ``questions.jsonl``, keyed by a hash of their content.

A transcript embeds its whole question (a QuALITY story is ~25,000 characters), so writing
it into every transcript of that question made the store mostly copies. The store writes
each distinct question once, as ``{"hash": H, "question": {...}}``, and the transcript line
names it as ``"question_ref": H``; reading puts the question back, so every reader sees the
same :class:`~transcripts.Transcript` as before. ``H`` is the SHA-256 of the question's JSON,
so equal questions share a line and a changed question (another gold answer, another
story) gets its own.

The question line is appended before the transcript that names it, with the same single
``write`` on an ``O_APPEND`` descriptor, so a transcript never names a question the file
lacks; a crash between the two leaves an unreferenced question line, which is harmless.
Runs written before (questions embedded) read unchanged.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from transcripts.errors import CorruptRecordError, StoreError

__all__ = ["QUESTIONS", "QUESTION_REF", "QuestionFile", "append_whole"]

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory lock
    fcntl = None  # type: ignore[assignment]


@contextmanager
def _flocked(fd: int) -> Iterator[None]:
    """Hold an exclusive OS lock on the open file ``fd`` (where there is ``fcntl``)."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def append_whole(fd: int, data: bytes, path: Path) -> int:
    """Append ``data`` to the open ``O_APPEND`` file ``fd`` of ``path`` (its OS lock held)
    and return the offset it starts at. A write the file system stops half way (a full
    disk, a file-size limit) is cut off again: the file never keeps part of a line, which
    the next append would glue its own to."""
    start = os.fstat(fd).st_size
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view) :]
    except OSError as err:
        os.ftruncate(fd, start)
        raise StoreError(
            f"cannot append to {path}: {err.strerror or err}; nothing of it was kept: free "
            "space on the disk (or allow writing there) and run the command again"
        ) from err
    return start


QUESTIONS = "questions.jsonl"
"""The run's question file."""

QUESTION_REF = "question_ref"
"""The transcript field that names its question by hash."""


class QuestionFile:
    """A run's ``questions.jsonl``: add a question (once), get one back by hash."""

    __slots__ = ("_by_hash", "_fd", "_lock", "_memo", "path")

    def __init__(self, path: Path) -> None:
        self.path = path
        self._by_hash: dict[str, dict[str, Any]] | None = None
        self._memo: dict[int, tuple[BaseModel, str]] = {}
        self._lock = threading.Lock()
        self._fd: int | None = None

    def _loaded(self) -> dict[str, dict[str, Any]]:
        if self._by_hash is None:
            self._by_hash = {}
            if self.path.exists():
                with open(self.path, "rb") as f:
                    for number, line in enumerate(f, start=1):
                        if not line.endswith(b"\n"):
                            break  # torn by a crash: no transcript names it
                        try:
                            data = json.loads(line)
                            self._by_hash[str(data["hash"])] = data["question"]
                        except (ValueError, KeyError, TypeError) as err:
                            raise CorruptRecordError(
                                f"{self.path}:{number}: not a stored question ({err}); "
                                f"restore the file from a backup"
                            ) from err
        return self._by_hash

    def add(self, question: BaseModel) -> str:
        """The question's hash, writing it to the file first if it is new."""
        with self._lock:
            memo = self._memo.get(id(question))
            if memo is not None and memo[0] is question:
                return memo[1]
            text = question.model_dump_json()
            ref = hashlib.sha256(text.encode()).hexdigest()
            known = self._loaded()
            if ref not in known:
                line = f'{{"hash":"{ref}","question":{text}}}\n'.encode()
                first = self._fd is None
                if self._fd is None:
                    self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                # Under an OS lock, as the logs append: another process's line in progress
                # (workers of one run) is neither interleaved nor taken for a torn tail.
                with _flocked(self._fd):
                    if first:
                        self._cut_torn_tail()
                    append_whole(self._fd, line, self.path)
                known[ref] = json.loads(text)
            if len(self._memo) > 4096:
                self._memo.clear()
            self._memo[id(question)] = (question, ref)  # the question is kept alive with it
            return ref

    def _cut_torn_tail(self) -> None:
        """Drop a last line a crash cut short (no transcript names it: transcripts are
        written after their question), so appending starts on a clean line."""
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with open(self.path, "rb+") as f:
                f.truncate(data.rfind(b"\n") + 1)

    def all(self) -> dict[str, dict[str, Any]]:
        """Every stored question's JSON object, by hash."""
        return dict(self._loaded())

    def get(self, ref: str, *, named_by: str = "a transcript") -> dict[str, Any]:
        """The stored question (a fresh copy of its JSON object) for a hash; ``named_by``
        says, in the error where the file lacks it, which record names it."""
        known = self._loaded()
        if ref not in known:
            self._by_hash = None  # another process may have added it since: read again
            known = self._loaded()
        if ref not in known:
            raise CorruptRecordError(
                f"{named_by} names the question with hash {ref[:12]}…, which {self.path} "
                f"lacks; the run folder is incomplete (was questions.jsonl left behind when "
                f"it was copied, or lines of another run's transcripts.jsonl added to it?)"
            )
        # Deep: a transcript's model keeps the nested values of its question's metadata as
        # they are, and no transcript may share them with another (or with this file's copy).
        return copy.deepcopy(known[ref])

    def close(self) -> None:
        """Close the descriptor."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
