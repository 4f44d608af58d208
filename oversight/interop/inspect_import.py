"""An Inspect log's samples as transcripts, read by inspect_ai's own reader.

A sample that ``oversight export --format inspect`` wrote carries its transcript and
judgments whole and comes back exactly. Any other sample (an agent trajectory, a
multiple-choice eval) becomes a transcript of protocol ``inspect``: its input is the
question, its messages are public turns (system prompts private), its ``choices`` are the
answers and its target the gold; a sample without choices is asked as "was the answer
correct?" (answers ``correct`` / ``incorrect``, gold from the sample's first score, see
:func:`_score_gold`), so a judge can re-judge the trajectory. Epochs of a sample are
repeats of one question; a sample that ended in an error is an ``error`` transcript.

A foreign sample's transcript id is its log's eval id, its sample id and its epoch; ids
that would read alike (``1`` and ``"1"``, ``a b`` and ``a/b``, ``q`` in epoch 2 and
``q-epoch2``) get a short hash of the id as Inspect holds it, so no two samples share one.
Importing again adds only what is missing (judgments a later export carries included); a
log with a damaged oversight record, one sample twice with different content, or a sample
that differs from the transcript the folder already holds under its id (a log rescored in
Inspect) is refused, whole, before anything is written.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from oversight.interop._inspect_lib import require_inspect
from transcripts import Judgment, Question, RunStore, Transcript, Turn
from transcripts._validation import format_errors
from transcripts.errors import ConfigError

__all__ = ["TRAJECTORY_ANSWERS", "ImportedLog", "import_inspect"]

R = TypeVar("R", bound=BaseModel)

TRAJECTORY_ANSWERS = ["The final answer is correct", "The final answer is incorrect"]
"""Answers of the question asked about a sample without ``choices``."""


@dataclass
class ImportedLog:
    """What an import did."""

    samples: int = 0
    """Samples in the log."""
    imported: int = 0
    """Transcripts written now."""
    already_present: int = 0
    """Samples whose transcript the folder already had (or the log held before, alike)."""
    judgments: int = 0
    """Judgments restored (from logs oversight exported)."""
    task: str = ""
    """The log's task name, used as the condition of foreign samples."""


def import_inspect(log_path: str | Path, out: str | Path) -> ImportedLog:
    """Turn the samples of the Inspect log at ``log_path`` into transcripts in run ``out``."""
    inspect_log = require_inspect()
    path = Path(log_path)
    if not path.exists():
        raise ConfigError(f"no Inspect log at {path}: check the path (a .eval or .json file)")
    try:
        log = inspect_log.read_eval_log(str(path))
    except Exception as err:  # inspect_ai raises plain errors for unreadable files
        raise ConfigError(f"{path} is not a readable Inspect log: {err}") from err
    parsed = [_from_sample(sample, log, path) for sample in log.samples or []]
    damaged = [line for _, _, errors in parsed for line in errors]
    if damaged:  # refused before anything is written: the folder stays as it was
        raise ConfigError(
            f"{path} holds samples that cannot be imported, so nothing was imported:\n  "
            + "\n  ".join(damaged)
            + (
                "\nexport it again from its run (oversight export RUN --format inspect), or "
                "remove the samples' oversight_transcript metadata to import them as foreign "
                "samples"
                if any("oversight_" in line or ": score " in line for line in damaged)
                else "\nfix those samples (a question needs two answers or more), or leave them out"
            )
        )
    twice = _twice(transcript for transcript, _, _ in parsed)
    if twice:
        _refuse(path, twice, "remove the samples met twice from the log, or keep one of each")
    store = RunStore.create(out)
    try:
        present = store.transcripts.ids()
        judged = store.judgments.ids()
        summary = ImportedLog(samples=len(parsed), task=log.eval.task)
        found = [_in_folder(t, store, present, log) for t, _, _ in parsed]
        differing = [line for _, line in found if line]
        if differing:
            _refuse(
                path,
                differing,
                f"import the log into a new folder (--out) to keep both, or remove "
                f"{store.path} first to import it afresh",
            )
        for (transcript, judgments, _), (stored_as, _) in zip(parsed, found, strict=True):
            if transcript is None:
                continue
            if stored_as is not None or transcript.id in present:  # or met earlier in the log
                summary.already_present += 1
            else:
                store.transcripts.append(transcript.model_copy(update={"run_id": store.run_id}))
                present.add(transcript.id)
                summary.imported += 1
            for judgment in judgments:  # those made since an earlier import come in too
                if judgment.id not in judged:
                    store.judgments.append(judgment.model_copy(update={"run_id": store.run_id}))
                    judged.add(judgment.id)
                    summary.judgments += 1
    finally:
        store.close()
    return summary


def _refuse(path: Path, lines: list[str], remedy: str) -> None:
    raise ConfigError(
        f"{path} holds samples that conflict, so nothing was imported:\n  "
        + "\n  ".join(lines)
        + f"\n{remedy}"
    )


def _named(transcript: Transcript) -> str:
    """A foreign sample by its id as Inspect holds it (``1`` or ``'1'``) and epoch."""
    meta = transcript.metadata
    if transcript.protocol == "inspect" and "inspect_sample_id" in meta:
        return f"sample {meta['inspect_sample_id']!r} (epoch {meta.get('inspect_epoch')})"
    return f"transcript {transcript.id}"


def _differences(a: Transcript, b: Transcript) -> list[str]:
    """What differs between two records of one transcript id, in a user's words (the log's
    path, the time of import and Inspect's score values aside)."""
    checks = {
        "question": (a.question.text, b.question.text),
        "answers": (a.question.answers, b.question.answers),
        "gold": (a.question.correct, b.question.correct),
        "turns": (
            [(t.speaker, t.content, t.visibility) for t in a.turns],
            [(t.speaker, t.content, t.visibility) for t in b.turns],
        ),
        "status": ((a.status, a.error), (b.status, b.error)),
    }
    return [what for what, (x, y) in checks.items() if x != y]


def _twice(transcripts: Iterable[Transcript | None]) -> list[str]:
    """A line per transcript id the log holds twice with different content."""
    seen: dict[str, Transcript] = {}
    lines = []
    for transcript in transcripts:
        if transcript is None:
            continue
        first = seen.setdefault(transcript.id, transcript)
        differ = _differences(first, transcript)
        if differ:
            lines.append(
                f"{_named(transcript)}: the log holds it twice, with different " + ", ".join(differ)
            )
    return lines


def _in_folder(
    transcript: Transcript | None, store: RunStore, present: set[str], log: Any
) -> tuple[str | None, str | None]:
    """The id the folder holds ``transcript`` under (None: not there), or a line saying how
    the folder's transcript of that id differs from it. A foreign sample is also looked for
    under the id an earlier version gave it (no hash), if that transcript is this sample."""
    if transcript is None:
        return None, None
    ids = [transcript.id]
    meta = transcript.metadata
    if transcript.protocol == "inspect" and "inspect_sample_id" in meta:
        ids.append(_plain_id(log, meta["inspect_sample_id"], meta.get("inspect_epoch", 1)))
    for number, stored_id in enumerate(dict.fromkeys(ids)):
        stored = store.transcripts.get(stored_id) if stored_id in present else None
        if stored is None:
            continue
        same_sample = all(
            type(stored.metadata.get(k)) is type(meta.get(k))
            and stored.metadata.get(k) == meta.get(k)
            for k in ("inspect_sample_id", "inspect_epoch")
        )
        if number > 0 and not same_sample:
            continue  # another sample, which had this id before ids were told apart
        differ = _differences(stored, transcript)
        if differ:
            return None, (
                f"{_named(transcript)}: differs from transcript {stored_id} already in "
                f"{store.path} ({', '.join(differ)})"
            )
        return stored_id, None
    return None, None


def _from_sample(
    sample: Any, log: Any, path: Path
) -> tuple[Transcript | None, list[Judgment], list[str]]:
    """The sample's transcript and judgments, or what is wrong with the oversight records
    it carries (a line per error, naming the sample and the key)."""
    name = f"sample {sample.id}" + (f" (epoch {sample.epoch})" if sample.epoch > 1 else "")
    saved = (sample.metadata or {}).get("oversight_transcript")
    errors: list[str] = []
    if saved is None:
        try:
            return _foreign(sample, log, path), [], []
        except ValidationError as err:  # a Question, Turn or Transcript it cannot be
            model = {m.__name__: m for m in (Question, Turn, Transcript)}.get(err.title, Question)
            return None, [], [f"{name}: {line}" for line in format_errors(err, model)]
    transcript = _validated(Transcript, saved, f"{name}: oversight_transcript", errors)
    judgments = []
    for key, score in (sample.scores or {}).items():
        record = score.metadata.get("oversight_judgment") if score.metadata else None
        if record is not None:
            judgment = _validated(Judgment, record, f"{name}: score {key}", errors)
            judgments += [judgment] if judgment is not None else []
    return transcript, judgments, errors


def _validated(model: type[R], data: Any, where: str, errors: list[str]) -> R | None:
    """``data`` as ``model``, or None with what is wrong added to ``errors``."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        errors += [f"{where}: {line}" for line in format_errors(err, model)]
        return None


def _foreign(sample: Any, log: Any, path: Path) -> Transcript:
    task = log.eval.task
    # Epochs of a sample are repeats of one question (one id, one cluster); each is its
    # own transcript.
    question_id = f"{sample.id}"
    text = (
        sample.input
        if isinstance(sample.input, str)
        else "\n\n".join(m.text for m in sample.input if m.role == "user")
    )
    if sample.choices:
        answers = list(sample.choices)
        correct = _choice_gold(sample.target, answers)
    else:
        answers = list(TRAJECTORY_ANSWERS)
        correct = _score_gold(sample.scores)
    # The input's user messages, in order: the question, not turns (several make one text).
    asked = (
        [text.strip()]
        if isinstance(sample.input, str)
        else [m.text.strip() for m in sample.input if m.role == "user"]
    )
    turns = []
    round_ = 0
    for message in sample.messages:
        if message.role == "user" and asked and message.text.strip() == asked[0]:
            asked.pop(0)
            continue  # part of the question itself
        if message.role == "assistant":
            round_ += 1
        turns.append(
            Turn(
                role="assistant",
                speaker=message.role if message.role != "assistant" else (message.model or "agent"),
                round=max(round_, 1) if message.role != "system" else 0,
                content=_message_text(message),
                visibility="private" if message.role == "system" else "public",
                metadata={"inspect_role": message.role},
            )
        )
    question = Question(
        id=question_id,
        text=text,
        answers=answers,
        correct=correct,
        source=str((sample.metadata or {}).get("source") or question_id),
        dataset=log.eval.dataset.name or task,
    )
    return Transcript(
        id=_transcript_id(log, sample.id, sample.epoch),
        protocol="inspect",
        protocol_config={"log": str(path), "task": task, "model": log.eval.model},
        condition=_id(task),
        question=question,
        turns=turns,
        repeat=max(sample.epoch - 1, 0),
        # A sample that failed is not judged: rejudge and judge take complete transcripts.
        status="error" if sample.error is not None else "complete",
        error=sample.error.message if sample.error is not None else None,
        metadata={
            "inspect_sample_id": sample.id,
            "inspect_epoch": sample.epoch,
            "inspect_target": sample.target,
            "inspect_scores": {name: _plain(s.value) for name, s in (sample.scores or {}).items()},
        },
    )


_LOOKS_LIKE_ANOTHER = re.compile(r"^-?[0-9]+$|-epoch[0-9]+$")
"""A string id that reads as an int id, or as another id's later epoch."""


def _plain_id(log: Any, sample_id: int | str, epoch: int) -> str:
    """``inspect-<eval id>-<sample id>[-epoch<n>]``, characters ids do not hold made ``-``:
    the id of every foreign sample before ids were told apart."""
    return _id(f"{_prefix(log)}-{_key(sample_id, epoch)}")


def _transcript_id(log: Any, sample_id: int | str, epoch: int) -> str:
    """The plain id, unless another sample's could read the same (``"1"`` and ``1``, ``a b``
    and ``a/b``, ``q-epoch2`` and ``q`` in epoch 2): then a hash of the id as Inspect holds
    it (type included) and the epoch is added. Unambiguous ids keep the plain form, so a
    folder imported before takes the log again as already there."""
    plain = _plain_id(log, sample_id, epoch)
    if isinstance(sample_id, int) or (
        plain == f"{_id(_prefix(log))}-{_key(sample_id, epoch)}"
        and not _LOOKS_LIKE_ANOTHER.search(sample_id)
    ):
        return plain
    digest = hashlib.sha256(json.dumps([sample_id, epoch]).encode()).hexdigest()[:8]
    return f"{plain}-{digest}"


def _prefix(log: Any) -> str:
    return f"inspect-{log.eval.eval_id or log.eval.task}"


def _key(sample_id: int | str, epoch: int) -> str:
    return f"{sample_id}" + (f"-epoch{epoch}" if epoch > 1 else "")


def _message_text(message: Any) -> str:
    text: str = message.text
    for call in getattr(message, "tool_calls", None) or []:
        text += f"\n[tool call] {call.function}({call.arguments})"
    error = getattr(message, "error", None)  # a tool call that failed: what the agent saw
    if error is not None:
        text += f"\n[tool error: {error.type}] {error.message}"
    return text.strip() or "(empty)"


def _choice_gold(target: str | list[str], answers: list[str]) -> int | None:
    """The gold's index; None for none, or for several (a question has one gold: with
    several correct choices the sample is kept, unscored, its target in metadata)."""
    if isinstance(target, list) and len(set(target)) > 1:
        return None
    value = target[0] if isinstance(target, list) and target else target
    if not isinstance(value, str) or not value:
        return None
    if len(value) == 1 and value.isupper() and ord(value) - ord("A") < len(answers):
        return ord(value) - ord("A")
    return answers.index(value) if value in answers else None


def _score_gold(scores: dict[str, Any] | None) -> int | None:
    """0 (the final answer is correct) or 1 (incorrect) from the sample's first score, read
    as Inspect's ``value_to_float`` reads a value: ``C``, 1 or True (and ``yes``/``true``)
    correct; ``I``, 0 or False (and ``no``/``false``) incorrect. None, no gold, for all else:
    ``N`` (Inspect's NOANSWER: no answer or a refusal, which Inspect's accuracy counts as 0,
    but the answer was neither right nor wrong), ``P`` (partial credit), NaN (Inspect's
    unscored), other numbers, lists and dicts. A later score never stands in for the first."""
    for score in (scores or {}).values():
        value = _as_number(score.value)
        return {1.0: 0, 0.0: 1}.get(value) if value is not None else None
    return None


def _as_number(value: Any) -> float | None:
    """A scalar score value as Inspect's ``value_to_float`` reads it, but ``N`` and ``P``
    (and what it cannot read) None, not 0 and 0.5."""
    if isinstance(value, (bool, int, float)):
        return float(value)
    if not isinstance(value, str) or value in ("N", "P"):
        return None
    named = {"C": 1.0, "I": 0.0}.get(value)  # exactly these letters, as Inspect
    if named is None:
        named = {"yes": 1.0, "true": 1.0, "no": 0.0, "false": 0.0}.get(value.lower())
    if named is None:
        try:
            named = float(value)
        except ValueError:
            return None
    return named


def _plain(value: Any) -> Any:
    return (
        value
        if isinstance(value, (str, int, float, bool, list, dict)) or value is None
        else str(value)
    )


def _id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.:-]+", "-", text).strip("-")
