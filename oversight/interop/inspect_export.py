"""A run as Inspect ``.eval`` logs, written by inspect_ai's own writer.

One log per condition (Inspect's "task"), one sample per transcript:

* ``input``: the question; ``choices``: the answers in the order the judge saw them;
  ``target``: the gold answer's letter in that order;
* ``messages``: the question, then the public turns, each labelled with its speaker, role
  and round (``metadata`` of each message says the same as fields);
* ``metadata``: condition, protocol and its setup, question id, cluster key (``source``),
  gold position, answer order, role assignment, private turns, and the whole transcript
  record (``oversight_transcript``) so ``oversight import inspect`` restores it exactly;
* ``model_usage``: tokens and cost per model; ``scores``: one per judge, the value its
  accuracy credit (the rule of :mod:`transcripts.export`), the answer its verdict letter,
  the explanation its rationale and the probabilities per letter in ``metadata``. A
  judgment the report does not score is Inspect's unscored score (``Score.unscored()``,
  value NaN), which Inspect's metrics leave out as the report does; the log declares its
  scorers with ``accuracy``, so Inspect recomputing the metrics gets the report's number
  (and, like Inspect, ``results.scores`` has an entry for every declared scorer: one whose
  judgments are all unscored has 0 scored samples and accuracy NaN).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from oversight.interop._inspect_lib import letter, require_inspect
from transcripts import Entry, Judgment, RunStore, Transcript, Turn
from transcripts import score as accuracy_credit
from transcripts.export import not_scored
from transcripts.filters import check_conditions
from transcripts.scoring import total_cost

__all__ = ["export_inspect"]


def export_inspect(
    run: str | Path, out: str | Path | None = None, *, conditions: Sequence[str] | None = None
) -> list[Path]:
    """Write ``run``'s transcripts as Inspect logs into ``out`` (default ``RUN/inspect``);
    returns the files written, one per condition (only ``conditions``, when given: a name
    the run lacks is an error naming those it has).

    One condition is read and written at a time: memory holds that condition's transcripts
    and judgments (Inspect's writer takes a whole log), not the run's.
    """
    require_inspect()
    from inspect_ai.log import write_eval_log

    store = RunStore.open(run)
    groups = _groups(store)
    if conditions:
        check_conditions(store, conditions, present=groups)
    folder = Path(out) if out is not None else store.path / "inspect"
    folder.mkdir(parents=True, exist_ok=True)
    chosen = [c for c in groups if not conditions or c in conditions]
    counted = _counted(store, {e.id for c in chosen for e in groups[c]} if conditions else None)
    frozen = (
        store.read_json("experiment.json") if (store.path / "experiment.json").exists() else None
    )
    name = (frozen or {}).get("spec", {}).get("name") or store.path.name
    files = _file_names(name, groups)
    written = []
    for condition in sorted(chosen):
        entries = groups[condition]
        members = list(store.transcripts.read(entries))
        wanted = sorted((e for t in members for e in counted.get(t.id, ())), key=lambda e: e.offset)
        judgments: dict[str, list[Judgment]] = defaultdict(list)
        for judgment in store.judgments.read(wanted):  # in the order they were written
            judgments[judgment.transcript_id].append(judgment)
        log = _log(name, condition, members, judgments, store.run_id)
        target = folder / files[condition]
        write_eval_log(log, str(target), format="eval")
        written.append(target)
    return written


def _groups(store: RunStore) -> dict[str, list[Entry]]:
    """The index entries of the run's transcripts (latest record per id, in file order) by
    Inspect task: the condition, or the protocol of a transcript without one (read for
    it: such transcripts are few, and found in the index)."""
    protocol = {t.id: t.protocol for t in store.transcripts.latest(where={"c": ""})}
    groups: dict[str, list[Entry]] = defaultdict(list)
    for entry in store.transcripts.latest_entries():
        condition = (entry.extra or {}).get("c") or protocol.get(entry.id, "")
        groups[condition].append(entry._replace(extra=None))
    return dict(groups)


def _counted(store: RunStore, transcripts: set[str] | None) -> dict[str, list[Entry]]:
    """The index entries of the judgments that count and are ``ok``, by transcript (only
    the judgments of ``transcripts`` when given): each judgment read once, only what the
    final-judgment rule reads of it kept."""
    counted: dict[str, list[Entry]] = defaultdict(list)
    for key, entry in store.final_judgment_entries(transcripts):
        if key.status == "ok":
            counted[key.transcript_id].append(entry)
    return counted


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]+", "-", text).strip("-") or "run"


def _file_names(name: str, conditions: Iterable[str]) -> dict[str, str]:
    """Each condition's log file name, ``<name>_<condition>.eval``; conditions that would
    share one (``mc:1`` and ``mc-1``) each get a short hash of their own name too. Chosen
    among all the run's conditions, so a name does not depend on which logs are written."""
    slugs = {condition: _slug(condition) for condition in conditions}
    shared = Counter(slugs.values())
    return {
        condition: f"{_slug(name)}_{slug}"
        + (f"-{hashlib.sha256(condition.encode()).hexdigest()[:8]}" if shared[slug] > 1 else "")
        + ".eval"
        for condition, slug in slugs.items()
    }


def _log(
    name: str,
    condition: str,
    transcripts: list[Transcript],
    judgments: dict[str, list[Judgment]],
    run_id: str,
) -> Any:
    from inspect_ai.log import (
        EvalConfig,
        EvalDataset,
        EvalLog,
        EvalMetric,
        EvalResults,
        EvalScore,
        EvalSpec,
        EvalStats,
    )

    samples = [_sample(t, judgments.get(t.id, [])) for t in transcripts]
    credits: dict[str, list[float]] = defaultdict(list)
    unscored: Counter[str] = Counter()
    for sample in samples:
        for judge, score in (sample.scores or {}).items():
            if math.isnan(score.value):
                unscored[judge] += 1
            else:
                credits[judge].append(score.value)
    judges = sorted(credits.keys() | unscored.keys())
    first = min(t.created_at for t in transcripts)
    last = max(t.created_at for t in transcripts)
    models = sorted({call.model for t in transcripts for call in t.calls})
    spec = EvalSpec(
        run_id=run_id,
        created=first.isoformat(),
        task=f"{name}/{condition}",
        task_attribs={"protocol": transcripts[0].protocol},
        task_args={"protocol_config": transcripts[0].protocol_config},
        dataset=EvalDataset(
            name=transcripts[0].question.dataset,
            samples=len(transcripts),
            sample_ids=[t.id for t in transcripts],
        ),
        model=", ".join(models) or "none",
        config=EvalConfig(),
        # Declared as an Inspect task's scorers are, so Inspect can recompute the metrics
        # (after a score is edited, say) and gets the report's accuracy.
        scorers=[{"name": judge, "metrics": [{"name": "accuracy"}]} for judge in judges],
        metadata={"oversight_run": name, "condition": condition},
    )
    # One entry per declared scorer, as Inspect's own recompute gives: a judge none of whose
    # judgments is scored has 0 scored samples and accuracy NaN.
    results = EvalResults(
        total_samples=len(samples),
        completed_samples=sum(t.status == "complete" for t in transcripts),
        scores=[
            EvalScore(
                name=judge,
                scorer=judge,
                scored_samples=len(credits[judge]),
                unscored_samples=unscored[judge],
                metrics={"accuracy": EvalMetric(name="accuracy", value=_mean(credits[judge]))},
            )
            for judge in judges
        ],
    )
    return EvalLog(
        status="success",
        eval=spec,
        results=results,
        stats=EvalStats(
            started_at=first.isoformat(),
            completed_at=last.isoformat(),
            model_usage=_usage([c for t in transcripts for c in t.calls]),
        ),
        samples=samples,
    )


def _mean(values: list[float]) -> float:
    """The mean of ``values``; NaN for none (what Inspect's ``accuracy()`` gives then)."""
    return sum(values) / len(values) if values else math.nan


def _sample(transcript: Transcript, judgments: list[Judgment]) -> Any:
    from inspect_ai.log import EvalSample
    from inspect_ai.model import ChatMessageAssistant, ChatMessageUser

    question = transcript.question
    order = transcript.order
    position = {original: shown for shown, original in enumerate(order)}
    choices = [question.answers[i] for i in order]
    prompt = (
        question.text
        + "\n\n"
        + "\n".join(f"{letter(i)}) {answer}" for i, answer in enumerate(choices))
    )
    messages: list[Any] = [ChatMessageUser(content=prompt, source="input")]
    for turn in transcript.turns:
        if turn.visibility != "public":
            continue
        side = (
            f", for {letter(position[turn.answer])}"
            if turn.answer is not None and turn.answer in position
            else ""
        )
        messages.append(
            ChatMessageAssistant(
                content=f"[{turn.speaker} ({turn.role}{side}), round {turn.round}]\n{turn.content}",
                model=turn.call.model if turn.call else None,
                metadata=_turn_metadata(turn, position),
            )
        )
    gold = question.correct
    return EvalSample(
        id=transcript.id,
        epoch=transcript.repeat + 1,
        input=prompt,
        choices=choices,
        target=letter(position[gold]) if gold is not None else "",
        messages=messages,
        metadata={
            "condition": transcript.condition,
            "protocol": transcript.protocol,
            "setup": transcript.protocol_config,
            "question_id": question.id,
            "source": question.source,
            "dataset": question.dataset,
            "gold": gold,
            "gold_position": position[gold] if gold is not None else None,
            "answer_order": order,
            "assignment": transcript.assignment,
            "roles": transcript.roles,
            "status": transcript.status,
            "error": transcript.error,
            "private_turns": [
                t.model_dump(mode="json") for t in transcript.turns if t.visibility != "public"
            ],
            "oversight_transcript": transcript.model_dump(mode="json"),
        },
        scores={key: _score(j, transcript, position) for key, j in _keyed(judgments)} or None,
        model_usage=_usage(transcript.calls),
        created_at=transcript.created_at.isoformat(),
    )


def _keyed(judgments: list[Judgment]) -> list[tuple[str, Judgment]]:
    """One score name per judgment: the judge's name, with the annotator of a human judge,
    and the rounds seen where one judge judged the transcript at several points."""
    keys = [
        j.judge.name + (f"@{j.judge.annotator}" if j.judge.annotator else "") for j in judgments
    ]
    return [
        (key if keys.count(key) == 1 else f"{key}#r{j.rounds_seen}", j)
        for key, j in zip(keys, judgments, strict=True)
    ]


def _turn_metadata(turn: Turn, position: dict[int, int]) -> dict[str, Any]:
    return {
        "speaker": turn.speaker,
        "role": turn.role,
        "round": turn.round,
        "answer_position": position.get(turn.answer) if turn.answer is not None else None,
        "quotes": [q.model_dump(mode="json") for q in turn.quotes],
    }


def _score(judgment: Judgment, transcript: Transcript, position: dict[int, int]) -> Any:
    from inspect_ai.scorer import Score

    probabilities = judgment.probabilities or []
    correct = transcript.question.correct
    # Credited only where the report scores the judgment (one probability per answer, a
    # complete transcript, a gold answer): the log's accuracy is then the report's.
    credit = (
        accuracy_credit(probabilities, correct)
        if correct is not None and not_scored(judgment, transcript) is None
        else None
    )
    verdict = judgment.verdict
    # Not scored: Inspect's unscored sentinel (NaN), which its metrics leave out, as the
    # report does ("N", NOANSWER, was counted by Inspect's accuracy as wrong).
    fields: dict[str, Any] = {
        "answer": letter(position.get(verdict, verdict)) if verdict is not None else None,
        "explanation": judgment.rationale or None,
        "metadata": {
            # An index past the answers (a judgment that is not scored) keeps its own letter.
            "probabilities": {letter(position.get(i, i)): p for i, p in enumerate(probabilities)},
            "judge_kind": judgment.judge.kind,
            "judge_model": judgment.judge.model,
            "annotator": judgment.judge.annotator,
            "rounds_seen": judgment.rounds_seen,
            "escalated": judgment.escalated,
            "cost_usd": judgment.cost_usd,
            "oversight_judgment": judgment.model_dump(mode="json"),
        },
    }
    return Score(value=credit, **fields) if credit is not None else Score.unscored(**fields)


def _usage(calls: list[Any]) -> dict[str, Any]:
    from inspect_ai.model import ModelUsage

    usage: dict[str, Any] = {}
    costs: dict[str, list[float | None]] = {}
    for call in calls:
        key = f"{call.provider}/{call.model}"
        before = usage.get(key) or ModelUsage()
        costs.setdefault(key, []).append(call.cost_usd)
        cost = total_cost(costs[key])  # unknown if any call's is: never a silent $0
        usage[key] = ModelUsage(
            input_tokens=before.input_tokens + call.usage.input_tokens,
            output_tokens=before.output_tokens + call.usage.output_tokens,
            total_tokens=before.total_tokens + call.usage.input_tokens + call.usage.output_tokens,
            input_tokens_cache_read=(before.input_tokens_cache_read or 0)
            + call.usage.cached_tokens,
            input_tokens_cache_write=(before.input_tokens_cache_write or 0)
            + call.usage.cache_write_tokens,
            total_cost=cost,
        )
    return usage
