"""A failing judge fails judgments, not items: transcripts are saved, failed judgments are
recorded once, counted apart, and asked again with fresh calls only when ``--retry-failed``."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from judges import final_judgments
from oversight.endpoints import Endpoint, Request
from oversight.experiment import Experiment
from oversight.runner import RunResult, read_status, run_experiment
from transcripts import RunStore

from .helpers import Factory, experiment, lone_shard, verdict

ITEMS = 32
"""4 questions x (unassisted 2 orders + consultancy 2 sides x 2 + debate 2 orders)."""


class JudgeFactory(Factory):
    """Scripted mocks whose judge answers all-zero probabilities (schema-valid, unusable)
    while ``broken`` is set: a deterministic failure, as a weak model at temperature 0."""

    def __init__(self) -> None:
        super().__init__()
        self.broken = True
        self.judge_requests: list[Request] = []

    def __call__(self, spec: str, **options: Any) -> Endpoint:
        made = super().__call__(spec, **options)
        inner = made.backend._replies  # type: ignore[attr-defined]

        def reply(request: Request) -> Any:
            found = verdict(request)
            if found is None:
                return inner(request)
            self.judge_requests.append(request)
            self.sent[spec] = self.sent.get(spec, 0) + 1
            if self.broken:
                return {
                    "rationale": "?",
                    "probabilities": dict.fromkeys(found["probabilities"], 0.0),
                }
            return found

        made.backend._replies = reply  # type: ignore[attr-defined]
        return made


def _run(out: Path, factory: Factory, exp: Experiment, *, retry_failed: bool = False) -> RunResult:
    return run_experiment(
        exp,
        out=out,
        endpoint_factory=factory,
        progress=False,
        summary=False,
        retry_failed=retry_failed,
    )


def _records(out: Path) -> list[dict[str, Any]]:
    lines = (out / "judgments.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_failed_judgments_keep_their_transcripts_and_are_retried_only_when_asked(
    tmp_path: Path,
) -> None:
    out = tmp_path / "run"
    exp = experiment(limits={"concurrency": 4, "max_judgment_failure_fraction": 1.0})
    factory = JudgeFactory()
    first = _run(out, factory, exp)
    assert first.status == "complete with errors"
    assert (first.items_complete, first.items_failed) == (ITEMS, 0)
    assert first.judgments_failed == ITEMS and "--retry-failed" in first.message
    status = read_status(RunStore.open(out))
    assert status is not None and status["judgments_failed"] == ITEMS
    assert status["items_failed"] == 0
    records = _records(out)
    assert len(records) == ITEMS and all(r["status"] == "failed" for r in records)
    assert "all zero" in records[0]["error"]

    # A plain resume leaves the failures be: no call (it would only replay them), no record.
    factory.broken = False
    calls = factory.total
    again = _run(out, factory, exp)
    assert factory.total == calls and again.judgments == 0
    assert again.status == "complete with errors" and "--retry-failed" in again.message
    assert len(_records(out)) == ITEMS

    # --retry-failed asks again with fresh calls: were the cache replayed, they would fail.
    retried = _run(out, factory, exp, retry_failed=True)
    assert retried.status == "complete" and retried.judgments == ITEMS
    assert retried.judgments_failed == 0 and factory.total > calls
    fresh = factory.judge_requests[-ITEMS:]
    assert all(r.sample_index >= 1_000_000 for r in fresh)
    store = RunStore.open(out)
    final = final_judgments(store.judgments)
    assert len(final) == ITEMS and all(j.status == "ok" for j in final)
    # One record per attempt, the retry under the same id, marked as the second attempt.
    records = _records(out)
    assert len(records) == 2 * ITEMS and len({r["id"] for r in records}) == ITEMS
    assert {r["metadata"].get("attempt") for r in records if r["status"] == "ok"} == {2}
    # Once settled, nothing is asked again, with or without --retry-failed.
    calls = factory.total
    done = _run(out, factory, exp, retry_failed=True)
    assert done.status == "complete" and factory.total == calls


def test_too_many_failed_judgments_stop_the_run_apart_from_item_failures(
    tmp_path: Path,
) -> None:
    exp = experiment(limits={"concurrency": 2, "max_judgment_failure_fraction": 0.5})
    result = _run(tmp_path / "run", JudgeFactory(), exp)
    assert result.status == "stopped: too many failures"
    assert "max_judgment_failure_fraction=0.5" in result.message
    assert "transcripts are saved" in result.message
    assert result.items_failed == 0 and result.judgments_failed >= 10
    store = RunStore.open(tmp_path / "run")
    complete = [t for t in store.transcripts.latest() if t.status == "complete"]
    assert len(complete) >= result.judgments_failed


def test_a_stopped_run_counts_the_failed_judgments_of_the_items_that_were_in_flight(
    tmp_path: Path,
) -> None:
    """Items in flight when the run stops finish and save their judgments: the result and
    status.json count their failures too, as the store holds them."""
    exp = experiment(limits={"concurrency": 8, "max_judgment_failure_fraction": 0.5})
    result = _run(tmp_path / "run", JudgeFactory(), exp)
    assert result.status == "stopped: too many failures"
    store = RunStore.open(tmp_path / "run")
    saved = [j for j in store.judgments.latest() if j.status == "failed"]
    assert result.judgments == len(saved)  # every judgment of the session failed
    assert result.judgments_failed == len(saved)
    status = read_status(store)
    assert status is not None and status["judgments_failed"] == len(saved)


def test_a_person_who_quit_is_not_asked_again_by_a_retry_of_a_failed_judgment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An interactive fallback judge's person quits at the first prompt of a session: the
    rest of the session queues its items, retries of failed judgments included (they were
    judged by a second set of judges, which had not heard that the person quit)."""
    out = tmp_path / "run"
    fallback = {
        "kind": "fallback",
        "name": "asks-now",
        "endpoint": "weak",
        "threshold": 0.99,
        "on_failure": False,
        "mode": "interactive",
        "annotator": "ann",
    }
    exp = experiment(
        judges=[fallback],
        limits={"concurrency": 1, "max_judgment_failure_fraction": 0.5},
    )
    factory = JudgeFactory()
    first = _run(out, factory, exp)  # the judge fails, nobody is asked; the run stops early
    assert first.status == "stopped: too many failures" and first.items_complete < ITEMS
    factory.broken = False
    monkeypatch.setattr(sys, "stdin", io.StringIO("q\n" + "60 40\n" * ITEMS))
    again = _run(out, factory, exp, retry_failed=True)
    assert again.judgments > first.judgments  # both retries and items judged for the first time
    store = RunStore.open(out)
    by_person = [j for j in final_judgments(store.judgments) if j.decided_by == "human"]
    assert by_person == [], "the person quit: no one is asked again in this session"
    assert sys.stdin.read() == "60 40\n" * ITEMS


def test_a_ray_task_retrying_failed_judgments_writes_no_second_transcript(
    tmp_path: Path,
) -> None:
    """``--ray --retry-failed`` deals the items whose transcripts are complete but whose
    judgments failed to a task: it judges them again from the run's transcripts (was: it
    ran them again into its empty shard, and the merge added a second transcript record of
    each, under the same id)."""
    from oversight.datasets import load_questions
    from oversight.runner._items import plan
    from oversight.runner._ray import run_shard

    out = tmp_path / "run"
    exp = experiment(limits={"concurrency": 4, "max_judgment_failure_fraction": 1.0})
    factory = JudgeFactory()
    assert _run(out, factory, exp).judgments_failed == ITEMS
    factory.broken = False
    # What run_ray gives its one task: every item has a judgment to ask again.
    items = (i.id for i in plan(exp, load_questions(exp.dataset, exp.base_dir)))
    job = lone_shard(exp, out, items, factory=factory, retry_failed=True)
    shard = run_shard(job).result
    merged = _run(out, factory, exp)  # a resume merges the shard first
    assert merged.status == "complete" and merged.judgments == 0
    ids = [json.loads(line)["id"] for line in (out / "transcripts.jsonl").read_text().splitlines()]
    assert len(ids) == len(set(ids)) == ITEMS
    assert len(_records(out)) == 2 * ITEMS  # each failure and its retry, no copy twice
    assert shard.status == "complete", "the retries were fresh calls, not the cached failures"
    final = final_judgments(RunStore.open(out).judgments)
    assert len(final) == ITEMS and all(j.status == "ok" for j in final)
