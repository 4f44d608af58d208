"""The runner on scripted mock endpoints: saving, resuming, isolating failures, caps, Ctrl-C."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from oversight.datasets import load_questions
from oversight.endpoints import Endpoint, MockBackend, Request
from oversight.runner import read_status
from oversight.runner._items import item_id, judgment_id, plan
from transcripts import RunStore
from transcripts.errors import ConfigError

from .helpers import Factory, experiment
from .runner_helpers import ITEMS, _run


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
