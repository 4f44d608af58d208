"""An Inspect log's samples as transcripts, read by inspect_ai's own reader.

A sample that ``oversight export --format inspect`` wrote carries its transcript and
judgments whole and comes back exactly. Any other sample (an agent trajectory, a
multiple-choice eval) becomes a transcript of protocol ``inspect``: its input is the
question, its messages are public turns (system prompts private), its ``choices`` are the
answers and its target the gold; a sample without choices is asked as "was the answer
correct?" (answers ``correct`` / ``incorrect``, gold from a ``C``/``I`` or 1/0 score when
there is one), so a judge can re-judge the trajectory. Epochs of a sample are repeats of
one question; a sample that ended in an error is an ``error`` transcript. Importing again
adds only what is missing (judgments a later export carries included); a log with a damaged
oversight record is refused, whole, before anything is written.
"""

from __future__ import annotations

import re
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
    """Samples whose transcript the folder already had."""
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
    store = RunStore.create(out)
    try:
        present = store.transcripts.ids()
        judged = store.judgments.ids()
        summary = ImportedLog(samples=len(parsed), task=log.eval.task)
        for transcript, judgments, _ in parsed:
            if transcript is None:
                continue
            if transcript.id in present:
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
    sample_id = question_id + (f"-epoch{sample.epoch}" if sample.epoch > 1 else "")
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
        id=_id(f"inspect-{log.eval.eval_id or task}-{sample_id}"),
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
    """0 (correct) or 1 (incorrect) from the sample's first score, when it says which."""
    for score in (scores or {}).values():
        value = score.value
        if value in ("C", 1, 1.0, True):
            return 0
        if value in ("I", 0, 0.0, False):
            return 1
        return None
    return None


def _plain(value: Any) -> Any:
    return (
        value
        if isinstance(value, (str, int, float, bool, list, dict)) or value is None
        else str(value)
    )


def _id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.:-]+", "-", text).strip("-")
