"""The runner on scripted mock endpoints: saving, resuming, isolating failures, caps, limits."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from oversight.datasets import load_questions
from oversight.endpoints import Endpoint, MockBackend, Request
from oversight.experiment import Counterbalance, Experiment
from oversight.runner import RunResult, read_status, run_experiment
from oversight.runner._items import item_id, judgment_id, plan
from transcripts import RunStore
from transcripts.errors import ConfigError

from .helpers import Factory, experiment

ITEMS = 32
"""4 questions x (unassisted 2 orders + consultancy 2 sides x 2 + debate 2 x 2)."""


def _run(
    out: Path,
    factory: Factory,
    *,
    exp: Experiment | None = None,
    max_cost_usd: float | None = None,
    max_tokens: int | None = None,
) -> RunResult:
    return run_experiment(
        exp or experiment(),
        out=out,
        endpoint_factory=factory,
        progress=False,
        summary=False,
        max_cost_usd=max_cost_usd,
        max_tokens=max_tokens,
    )


def _ids(out: Path) -> tuple[set[str], set[str]]:
    store = RunStore.open(out)
    transcripts = {t.id for t in store.transcripts.latest() if t.status == "complete"}
    judgments = {j.id for j in store.judgments.latest() if j.status == "ok"}
    store.close()
    return transcripts, judgments


def test_a_run_saves_every_transcript_and_judgment_under_stable_ids(tmp_path: Path) -> None:
    factory = Factory()
    result = _run(tmp_path / "run", factory)
    assert result.status == "complete"
    assert result.items_total == ITEMS and result.items_complete == ITEMS
    transcripts, judgments = _ids(tmp_path / "run")
    exp = experiment()
    expected = {item.id for item in plan(exp, load_questions(exp.dataset))}
    assert transcripts == expected
    assert judgments == {judgment_id(t, "weak-judge", None) for t in transcripts}
    store = RunStore.open(tmp_path / "run")
    for t in store.transcripts:
        assert t.run_id == store.run_id and t.condition in {"unassisted", "consultancy", "debate"}
        assert t.metadata["setup"] and (bool(t.roles) == (t.protocol != "unassisted"))
        assert t.id == item_id(t.condition, t.question.id, t.metadata["setup"], t.repeat)
    frozen = store.read_json("experiment.json")
    assert frozen["spec_hash"] == exp.spec_hash() and frozen["questions"] == 4
    status = read_status(store)
    assert status is not None and status["status"] == "complete"
    assert status["spent_usd"] > 0 and status["unknown_cost_calls"] == 0


def test_resume_of_a_finished_run_calls_nothing(tmp_path: Path) -> None:
    _run(tmp_path / "run", Factory())
    before = _ids(tmp_path / "run")
    again = Factory()
    result = _run(tmp_path / "run", again)
    assert again.total == 0 and result.calls == 0
    assert _ids(tmp_path / "run") == before


def test_items_cut_off_mid_way_rerun_from_the_cache(tmp_path: Path) -> None:
    first = Factory()
    _run(tmp_path / "run", first)
    before = _ids(tmp_path / "run")
    # As after kill -9: the last transcripts and judgments never reached the files, one torn.
    for name, keep in (("transcripts.jsonl", 25), ("judgments.jsonl", 20)):
        path = tmp_path / "run" / name
        lines = path.read_bytes().splitlines(keepends=True)
        path.write_bytes(b"".join(lines[:keep]) + lines[keep][:50])
    again = Factory()
    with pytest.warns(UserWarning, match="cut short"):
        result = _run(tmp_path / "run", again)
    assert result.status == "complete"
    assert again.total == 0, "every call of the re-run items came from the cache"
    assert result.cached_calls > 0
    assert _ids(tmp_path / "run") == before


def _fails_on_ledger(request: Request) -> bool:
    text = (request.system or "") + " ".join(m.content for m in request.messages)
    return request.schema_ is None and "Who started the ledger?" in text


def test_an_item_that_always_fails_is_isolated_and_retried_on_resume(tmp_path: Path) -> None:
    exp = experiment(limits={"concurrency": 4, "item_retries": 2, "max_failure_fraction": 0.5})
    failing = Factory(fail=_fails_on_ledger)
    result = _run(tmp_path / "run", failing, exp=exp)
    assert result.status == "complete with errors"
    assert result.items_failed == 6  # consultancy 4 + debate 2
    store = RunStore.open(tmp_path / "run")
    errors = [t for t in store.transcripts.latest() if t.status == "error"]
    assert {t.question.id for t in errors} == {"lighthouse-2"}
    assert all("scripted failure" in (t.error or "") for t in errors)
    assert all(t.metadata["attempts"] == 3 for t in errors)
    assert sum(t.status == "complete" for t in store.transcripts.latest()) == ITEMS - 6
    store.close()
    healed = Factory()
    result = _run(tmp_path / "run", healed, exp=exp)
    assert result.status == "complete" and result.items_complete == ITEMS
    assert 0 < healed.total < failing.total


def test_too_many_failures_stop_the_run_early(tmp_path: Path) -> None:
    exp = experiment(limits={"concurrency": 2, "item_retries": 0, "max_failure_fraction": 0.2})
    broken = Factory(fail=lambda request: request.schema_ is None)
    result = _run(tmp_path / "run", broken, exp=exp)
    assert result.status == "stopped: too many failures"
    assert "max_failure_fraction=0.2" in result.message
    store = RunStore.open(tmp_path / "run")
    assert len(list(store.transcripts.latest())) < ITEMS
    status = read_status(store)
    assert status is not None and status["status"] == "stopped: too many failures"


def test_cost_cap_stops_then_a_higher_cap_resumes_without_repeating_paid_calls(
    tmp_path: Path,
) -> None:
    whole = Factory()
    full = _run(tmp_path / "whole", whole)
    capped = Factory()
    cap = full.spent_usd / 4
    stopped = _run(tmp_path / "run", capped, max_cost_usd=cap)
    assert stopped.status == "stopped: cost cap"
    assert "cost cap reached" in stopped.message
    assert cap <= stopped.spent_usd < full.spent_usd / 2
    status = read_status(RunStore.open(tmp_path / "run"))
    assert status is not None and status["status"] == "stopped: cost cap"
    resumed = Factory()
    done = _run(tmp_path / "run", resumed, max_cost_usd=full.spent_usd * 2)
    assert done.status == "complete"
    assert capped.total + resumed.total == whole.total, "no paid call was made twice"
    assert done.spent_usd == pytest.approx(full.spent_usd)
    assert _ids(tmp_path / "run") == _ids(tmp_path / "whole")


def test_token_cap(tmp_path: Path) -> None:
    result = _run(tmp_path / "run", Factory(), max_tokens=5_000)
    assert result.status == "stopped: token cap"


def test_resume_refuses_a_changed_experiment_but_accepts_new_limits(tmp_path: Path) -> None:
    _run(tmp_path / "run", Factory())
    changed = experiment(repeats=2)
    with pytest.raises(ConfigError, match=r"different experiment \(changed: repeats: 1 -> 2\)"):
        _run(tmp_path / "run", Factory(), exp=changed)
    new_limits = experiment(limits={"concurrency": 1, "max_cost_usd": 9.0})
    assert _run(tmp_path / "run", Factory(), exp=new_limits).status == "complete"


def test_counterbalance_and_repeats_shape_the_items() -> None:
    exp = experiment()
    questions = load_questions(exp.dataset)
    assert len(list(plan(exp, questions))) == ITEMS
    identity = exp.model_copy(update={"counterbalance": Counterbalance(orders="identity")})
    items = list(plan(identity, questions))
    assert len(items) == ITEMS // 2 and all(i.setup.order == [0, 1] for i in items)
    balanced = exp.model_copy(update={"counterbalance": Counterbalance(orders="balanced")})
    items = list(plan(balanced, questions))
    assert len(items) == ITEMS // 2
    firsts = {i.question.id: i.setup.order[0] for i in items}
    assert sorted(firsts.values()) == [0, 0, 1, 1]
    twice = exp.model_copy(update={"repeats": 2})
    ids = [i.id for i in plan(twice, questions)]
    assert len(ids) == 2 * ITEMS == len(set(ids))


def test_correct_and_one_keeps_one_distractor_per_question(tmp_path: Path) -> None:
    data = tmp_path / "four.jsonl"
    data.write_text(
        "\n".join(
            json.dumps(
                {
                    "id": f"q{i}",
                    "question": "Which?",
                    "answers": ["a", "b", "c", "d"],
                    "correct": i % 4,
                    "context": "ctx",
                    "source": "s",
                }
            )
            for i in range(3)
        )
        + "\n"
    )
    exp = experiment(
        dataset={"loader": "jsonl", "path": str(data)},
        counterbalance={"sides": "correct-and-one", "orders": "identity"},
    )
    questions = load_questions(exp.dataset)
    items = list(plan(exp, questions))
    # Every condition presents the same two answers per question: the gold and one other.
    shown = {(i.question.id, tuple(i.question.answers)) for i in items}
    assert len(shown) == 3 and all(len(answers) == 2 for _, answers in shown)
    assert all(
        i.question.answers[i.question.correct] == "abcd"[int(i.question.id[1:]) % 4]
        for i in items
        if i.question.correct is not None
    )
    debate = [i for i in items if i.condition.protocol == "debate"]
    assert len(debate) == 3  # per question: one debate (identity order, one model)


def test_repeats_are_sampled_apart(tmp_path: Path) -> None:
    factory = Factory()
    exp = experiment(
        repeats=2,
        conditions=[
            {
                "label": "consultancy",
                "protocol": "consultancy",
                "roles": {"consultant": "strong"},
                "options": {"rounds": 1},
            }
        ],
    )
    result = _run(tmp_path / "run", factory, exp=exp)
    assert result.status == "complete"
    assert factory.sent["mock/strong"] == 2 * 4 * 4  # nothing answered from the other repeat
    store = RunStore.open(tmp_path / "run")
    assert {t.repeat for t in store.transcripts} == {0, 1}


def test_repeats_of_an_unassisted_condition_are_judged_apart(tmp_path: Path) -> None:
    """The judge alone sees the same view in every repeat: each repeat is still its own
    draw of the judge, not the first repeat's reply from the cache."""
    factory = Factory()
    exp = experiment(repeats=2, conditions=[{"label": "unassisted", "protocol": "unassisted"}])
    result = _run(tmp_path / "run", factory, exp=exp)
    assert result.status == "complete" and result.items_complete == 2 * 4 * 2
    assert factory.sent["mock/weak"] == 2 * 4 * 2, "every repeat's judgment was asked for"
    store = RunStore.open(tmp_path / "run")
    judgments = list(store.judgments.latest())
    assert len(judgments) == 16 and not any(c.cached for j in judgments for c in j.calls)
    store.close()
    # A resume draws the same: nothing is asked again, every judgment stays as it was.
    again = Factory()
    assert _run(tmp_path / "run", again, exp=exp).status == "complete"
    assert again.total == 0


def test_repeats_of_a_judge_with_a_seed_are_sent_their_own_seeds(tmp_path: Path) -> None:
    """A provider that honours seeds gives the same draw for the same seed: each repeat's
    judgment is sent its own seed, or the repeats are one draw copied."""
    seeds: dict[int, list[int | None]] = {}

    def record(request: Request) -> bool:
        seeds.setdefault(request.sample_index // 10_000, []).append(request.seed)
        return False

    judges = [{"kind": "llm", "name": "weak-judge", "endpoint": "weak", "seed": 7}]
    exp = experiment(
        repeats=2,
        conditions=[{"label": "unassisted", "protocol": "unassisted"}],
        judges=judges,
    )
    assert _run(tmp_path / "run", Factory(fail=record), exp=exp).status == "complete"
    assert sorted(seeds) == [0, 1]  # requests of repeat 0 and repeat 1
    assert set(seeds[0]).isdisjoint(seeds[1]), seeds


def test_ten_repeats_and_more_never_replay_another_draw_of_the_same_setup(
    tmp_path: Path,
) -> None:
    """A consultant argues the gold of a three-answer question in two draws of one setup;
    repeat 10 of the first draw is still its own sample, not draw 2 of repeat 0."""
    lines = tmp_path / "three.jsonl"
    row = {"id": "q3", "question": "Which?", "answers": ["red", "blue", "green"], "correct": 0}
    lines.write_text(json.dumps(row) + "\n")
    conditions = [
        {
            "label": "consultancy",
            "protocol": "consultancy",
            "roles": {"consultant": "strong"},
            "options": {"rounds": 1},
        }
    ]
    dataset = {"loader": "jsonl", "path": str(lines)}
    balance = {"orders": "identity"}
    once, eleven = Factory(), Factory()
    exp = experiment(dataset=dataset, conditions=conditions, counterbalance=balance)
    _run(tmp_path / "once", once, exp=exp)
    exp = experiment(dataset=dataset, conditions=conditions, counterbalance=balance, repeats=11)
    result = _run(tmp_path / "eleven", eleven, exp=exp)
    assert result.status == "complete"
    assert eleven.sent["mock/strong"] == 11 * once.sent["mock/strong"]


class Slow(Factory):
    """Scripted mocks that take ``delay`` seconds to answer; ``on_answer(n)`` runs after the
    n-th answer and ``on_start(n)`` when the n-th call starts (to press Ctrl-C at a known
    point of the run, not at a wall-clock time)."""

    def __init__(
        self,
        delay: float,
        *,
        on_start: Callable[[int], None] | None = None,
        on_answer: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__()
        self.delay = delay
        self.started = 0
        self.answered = 0
        self.on_start = on_start
        self.on_answer = on_answer

    def __call__(self, spec: str, **options: object) -> Endpoint:
        made = super().__call__(spec, **options)
        backend = made.backend
        assert isinstance(backend, MockBackend)
        script = backend._replies
        assert callable(script)

        async def slowly(request: Request) -> object:
            self.started += 1
            if self.on_start is not None:
                self.on_start(self.started)
            await asyncio.sleep(self.delay)
            self.answered += 1
            if self.on_answer is not None:
                self.on_answer(self.answered)
            return script(request)

        backend._replies = slowly
        return made


def _ctrl_c() -> None:
    signal.raise_signal(signal.SIGINT)


def test_ctrl_c_finishes_calls_in_flight_then_stops_resumably(tmp_path: Path) -> None:
    def at_ten(answered: int) -> None:
        if answered == 10:  # Ctrl-C: some items are done by now, others not yet started
            _ctrl_c()

    stopped = _run(tmp_path / "run", Slow(0.001, on_answer=at_ten))
    assert stopped.status == "interrupted"
    assert 0 < stopped.items_complete < ITEMS
    status = read_status(RunStore.open(tmp_path / "run"))
    assert status is not None and status["status"] == "interrupted"
    assert _run(tmp_path / "run", Factory()).status == "complete"


def test_a_second_ctrl_c_stops_at_once_even_with_calls_in_flight(tmp_path: Path) -> None:
    def twice(n: int) -> None:
        if n == 1:  # the first call has started: Ctrl-C, and again once the first is handled
            _ctrl_c()
            asyncio.get_running_loop().call_later(0.01, _ctrl_c)

    slow = Slow(30.0, on_start=twice)
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path / "run", slow)
    assert slow.answered == 0, "the 30 s calls in flight were cancelled, not waited for"
    status = read_status(RunStore.open(tmp_path / "run"))
    assert status is not None and status["status"] == "interrupted"


def test_rrm_rewards_are_filed_as_a_judgment_and_judges_may_interject(tmp_path: Path) -> None:
    exp = experiment(
        dataset={"loader": "sample", "limit": 2},
        conditions=[
            {
                "label": "rrm",
                "protocol": "rrm",
                "roles": {"assistant": "strong", "evaluator": "strong"},
                "options": {"depth": 1, "branching": 2, "decide": "rewards"},
            },
            {
                "label": "debate-q",
                "protocol": "debate",
                "roles": {"debater": "strong"},
                "options": {"rounds": 2, "judge_questions": True},
                "judge": "asker",
            },
        ],
        judges=[
            {"kind": "llm", "name": "weak-judge", "endpoint": "weak"},
            {"kind": "llm", "name": "asker", "endpoint": "weak", "ask_questions": True},
        ],
    )
    result = _run(tmp_path / "run", Factory(), exp=exp)
    assert result.status == "complete", result.errors
    store = RunStore.open(tmp_path / "run")
    rewards = [j for j in store.judgments if j.judge.name == "rrm-rewards"]
    assert len(rewards) == 4 and all(j.status == "ok" for j in rewards)
    assert all(j.metadata["decided_by"] == "rewards" for j in rewards)
    debates = [t for t in store.transcripts if t.condition == "debate-q"]
    assert debates and all(any(turn.role == "judge" for turn in t.turns) for t in debates)


def _store_counts(out: Path) -> tuple[int, int]:
    """(complete items, failed items) as a user counts them in the files."""
    store = RunStore.open(out)
    latest = list(store.transcripts.latest())
    ok = {j.transcript_id for j in store.judgments.latest() if j.status == "ok"}
    bad = {j.transcript_id for j in store.judgments.latest() if j.status != "ok"}
    store.close()
    complete = sum(t.status == "complete" and t.id in ok for t in latest)
    failed = sum(t.status == "error" or (t.id in bad and t.id not in ok) for t in latest)
    return complete, failed


def test_a_run_stopped_for_too_many_failures_reports_what_the_store_holds(
    tmp_path: Path,
) -> None:
    exp = experiment(limits={"concurrency": 8, "item_retries": 0, "max_failure_fraction": 0.2})
    broken = Factory(fail=lambda request: request.schema_ is None and "ledger" in str(request))
    result = _run(tmp_path / "run", broken, exp=exp)
    assert result.status == "stopped: too many failures"
    status = read_status(RunStore.open(tmp_path / "run"))
    assert status is not None
    complete, failed = _store_counts(tmp_path / "run")
    assert (status["items_complete"], status["items_failed"]) == (complete, failed)
    assert (result.items_complete, result.items_failed) == (complete, failed)
    assert failed > 0


def test_every_failed_attempt_of_an_item_keeps_its_error(tmp_path: Path) -> None:
    exp = experiment(limits={"concurrency": 1, "item_retries": 2, "max_failure_fraction": 1.0})
    failures = [0]

    def flaky(request: Request) -> bool:
        """The first two requests about the ledger fail (one item's first two attempts)."""
        if request.schema_ is not None or "Who started the ledger?" not in str(request):
            return False
        failures[0] += 1
        return failures[0] <= 2

    _run(tmp_path / "run", Factory(fail=flaky), exp=exp)
    store = RunStore.open(tmp_path / "run")
    retried = [t for t in store.transcripts.latest() if t.metadata.get("attempts", 1) > 1]
    store.close()
    (item,) = retried
    assert item.status == "complete" and item.metadata["attempts"] == 3
    errors = item.metadata["attempt_errors"]
    assert [e["attempt"] for e in errors] == [1, 2]
    assert all("scripted failure" in e["error"] for e in errors)


def test_a_finished_run_leaves_no_database_journal_in_its_folder(tmp_path: Path) -> None:
    """The spend and sent ledgers' indexes were left open at exit: every run folder kept
    two SQLite write-ahead logs (about 4 MB each) beside its files."""
    from oversight.cli import main
    from oversight.endpoints._cache import close_caches

    def journals() -> list[str]:
        close_caches()  # the process-wide response cache closes at exit
        return sorted(p.name for p in out.iterdir() if p.name.endswith(("-wal", "-shm")))

    quickstart = Path(__file__).parents[2] / "examples" / "quickstart.toml"
    out = tmp_path / "run"
    for _ in range(2):  # the run, then a resume that reads the ledgers
        assert main(["run", str(quickstart), "--out", str(out)]) == 0
        assert journals() == []
    assert main(["rejudge", str(out), "--judge", "llm:weak"]) == 0
    assert journals() == []
