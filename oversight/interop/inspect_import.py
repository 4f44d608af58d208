"""An Inspect log's samples as transcripts, read by inspect_ai's own reader.

A sample that ``oversight export --format inspect`` wrote carries its transcript and
judgments whole and comes back exactly. Any other sample (an agent trajectory, a
multiple-choice eval) becomes a transcript of protocol ``inspect``: its input is the
question, its messages are public turns (system prompts private), its ``choices`` are the
answers and its target the gold; a sample without choices is asked as "was the answer
correct?" (answers ``correct`` / ``incorrect``, gold from a ``C``/``I`` or 1/0 score when
there is one), so a judge can re-judge the trajectory. Importing again adds only what is
missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oversight.interop._inspect_lib import require_inspect
from transcripts import Judgment, Question, RunStore, Transcript, Turn
from transcripts.errors import ConfigError

__all__ = ["TRAJECTORY_ANSWERS", "ImportedLog", "import_inspect"]

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
    store = RunStore.create(out)
    present = store.transcripts.ids()
    summary = ImportedLog(samples=len(log.samples or []), task=log.eval.task)
    for sample in log.samples or []:
        transcript, judgments = _from_sample(sample, log, path, store.run_id)
        if transcript.id in present:
            summary.already_present += 1
            continue
        store.transcripts.append(transcript)
        for judgment in judgments:
            store.judgments.append(judgment)
        summary.imported += 1
        summary.judgments += len(judgments)
    store.close()
    return summary


def _from_sample(
    sample: Any, log: Any, path: Path, run_id: str
) -> tuple[Transcript, list[Judgment]]:
    saved = (sample.metadata or {}).get("oversight_transcript")
    if isinstance(saved, dict):
        transcript = Transcript.model_validate({**saved, "run_id": run_id})
        judgments = [
            Judgment.model_validate({**score.metadata["oversight_judgment"], "run_id": run_id})
            for score in (sample.scores or {}).values()
            if isinstance(score.metadata, dict) and "oversight_judgment" in score.metadata
        ]
        return transcript, judgments
    return _foreign(sample, log, path, run_id), []


def _foreign(sample: Any, log: Any, path: Path, run_id: str) -> Transcript:
    task = log.eval.task
    sample_id = f"{sample.id}" + (f"-epoch{sample.epoch}" if sample.epoch > 1 else "")
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
    turns = []
    round_ = 0
    for message in sample.messages:
        if message.role == "user" and message.text.strip() == text.strip():
            continue  # the question itself
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
        id=sample_id,
        text=text,
        answers=answers,
        correct=correct,
        source=str((sample.metadata or {}).get("source") or sample_id),
        dataset=log.eval.dataset.name or task,
    )
    return Transcript(
        id=_id(f"inspect-{log.eval.eval_id or task}-{sample_id}"),
        run_id=run_id,
        protocol="inspect",
        protocol_config={"log": str(path), "task": task, "model": log.eval.model},
        condition=_id(task),
        question=question,
        turns=turns,
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
    return text.strip() or "(empty)"


def _choice_gold(target: str | list[str], answers: list[str]) -> int | None:
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
