"""``oversight run --workers N`` against a fake OpenAI server over real HTTP: the same run as
one process (ids, statuses, transcripts, judgments), the endpoint's limit held across the
workers, a cost cap that counts every worker's spend, a worker killed mid-run and resumed
with no answered call paid again, and a second run on the folder refused."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psutil
import pytest

from oversight.runner import read_status, run_experiment_async
from oversight.testing import FakeOpenAIServer, scripted_verdict
from transcripts import RunStore
from transcripts.errors import ConfigError

from ..endpoints.llama_cpp_helpers import FakeLlamaCpp

KEY_VARIABLE = "FAKE_OPENAI_KEY"
ROOT = Path(__file__).resolve().parents[2]


script = scripted_verdict
"""Verdicts whose probabilities sum to 1; the server invents everything else."""


def experiment_file(
    folder: Path, server: FakeOpenAIServer, *, max_concurrency: int | None = 2
) -> Path:
    """Every role on one model limited to ``max_concurrency`` requests in flight (None: not
    set); 8 items in flight per process, so the model's limit is what holds the requests
    back."""
    limit = "" if max_concurrency is None else f"max_concurrency = {max_concurrency}"
    text = f"""
name = "workers"
[dataset]
loader = "sample"
limit = 4
[endpoints.model]
spec = "openai/one-model"
base_url = "{server.base_url}"
api_key_env = "{KEY_VARIABLE}"
pricing = {{ input = 1.0, output = 2.0 }}
{limit}
max_retries = 1
options = {{ retry_backoff = 0.01 }}
[[conditions]]
label = "unassisted"
protocol = "unassisted"
[[conditions]]
label = "consultancy"
protocol = "consultancy"
roles = {{ consultant = "model" }}
options = {{ rounds = 2, resamples = 0 }}
[[conditions]]
label = "debate"
protocol = "debate"
roles = {{ debater = "model" }}
options = {{ rounds = 2, resamples = 0 }}
[[judges]]
kind = "llm"
name = "judge"
endpoint = "model"
[limits]
concurrency = 8
"""
    path = folder / "workers.toml"
    path.write_text(text)
    return path


@pytest.fixture(autouse=True)
def fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_VARIABLE, "test")


def contents(out: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every transcript (status, question, condition, setup, turns) and judgment (status,
    judge, transcript, probabilities) by id."""
    store = RunStore.open(out)
    transcripts = {
        t.id: (t.status, t.question.id, t.condition, t.answer_order, [u.content for u in t.turns])
        for t in store.transcripts.latest()
    }
    judgments = {
        j.id: (j.status, j.judge.name, j.transcript_id, j.probabilities)
        for j in store.judgments.latest()
    }
    store.close()
    return transcripts, judgments


def bodies(server: FakeOpenAIServer) -> Counter[str]:
    return Counter(json.dumps(r.body, sort_keys=True) for r in server.requests)


def repaid(run: Path) -> int:
    """Calls paid again under a request hash already paid (distinct calls of one hash)."""
    calls: dict[str, set[str]] = {}
    for line in (run / "spend.jsonl").read_text().splitlines():
        entry = json.loads(line)
        calls.setdefault(entry["request_hash"], set()).add(entry.get("sent_id") or entry["id"])
    return sum(len(ids) - 1 for ids in calls.values())


async def test_two_workers_make_the_one_process_run_within_the_shared_limit(
    tmp_path: Path,
) -> None:
    with FakeOpenAIServer(reply=script, latency=0.05) as server:
        exp = experiment_file(tmp_path, server)
        one = await run_experiment_async(exp, out=tmp_path / "one", progress=False)
        alone, peak_alone = bodies(server), server.peak_concurrency
        server.reset()
        two = await run_experiment_async(exp, out=tmp_path / "two", progress=False, workers=2)
        together = bodies(server)
        peak = server.peak_concurrency
    assert one.status == two.status == "complete"
    assert contents(tmp_path / "two") == contents(tmp_path / "one")
    assert together == alone, "the same requests, each sent once"
    assert peak_alone == 2 and peak <= 2, f"max_concurrency = 2 held across workers ({peak})"
    # The parent's summary and status file count both workers.
    assert (two.items_complete, two.items_total) == (one.items_total, one.items_total)
    assert two.calls == one.calls == sum(together.values())
    assert two.paid_calls == one.paid_calls and two.spent_usd == pytest.approx(one.spent_usd)
    assert two.judgments == one.judgments and two.transcripts == one.transcripts
    status = read_status(RunStore.open(tmp_path / "two"))
    assert status is not None and status["status"] == "complete"
    assert status["items_complete"] == one.items_total and status["calls"] == one.calls


async def test_two_workers_hold_a_llama_cpp_servers_slots_between_them(tmp_path: Path) -> None:
    """Each worker held its share of the default 64 as if it were a ``max_concurrency``
    set, warned that it was "more than the server's 2 slots", and sent beyond them: the
    requests queued in the server, their timeout running. Now the workers hold the
    server's slots between them, one each."""
    with FakeLlamaCpp(slots=2, reply=script, latency=0.05) as server:
        exp = experiment_file(tmp_path, server, max_concurrency=None)
        run = await run_experiment_async(exp, out=tmp_path / "run", progress=False, workers=2)
    assert run.status == "complete"
    assert server.peak_concurrency <= 2, f"{server.peak_concurrency} requests at once"


async def test_a_cost_cap_counts_every_workers_spend(tmp_path: Path) -> None:
    with FakeOpenAIServer(reply=script, latency=0.02) as server:
        exp = experiment_file(tmp_path, server, max_concurrency=4)
        whole = await run_experiment_async(exp, out=tmp_path / "whole", progress=False)
        # Each worker's half of the run costs less than the cap: only the spend of both
        # together reaches it.
        cap = whole.spent_usd * 0.6
        capped = await run_experiment_async(
            exp, out=tmp_path / "run", progress=False, workers=2, max_cost_usd=cap
        )
    assert capped.status == "stopped: cost cap"
    assert 0 < capped.items_complete < whole.items_total
    # The overshoot is the calls already past the cap check when it was reached: at most
    # two calls (the debaters of a round) for each of the 8 items in flight in all.
    most = max(json.loads(line)["cost_usd"] for line in (tmp_path / "run/spend.jsonl").open())
    assert capped.spent_usd <= cap + 16 * most < whole.spent_usd


def test_a_second_run_on_the_folder_is_refused(tmp_path: Path) -> None:
    from oversight.runner._api import run_lock

    (tmp_path / "run").mkdir()
    held = run_lock(tmp_path / "run")
    try:
        with pytest.raises(ConfigError, match=r"another `oversight run` is writing"):
            run_lock(tmp_path / "run")
    finally:
        held.release()
    run_lock(tmp_path / "run").release()  # free again once the first session ended


def _env() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH", "")
    root = str(ROOT)
    return {
        **os.environ,
        KEY_VARIABLE: "test",
        "CI": "true",
        "PYTHONPATH": f"{root}{os.pathsep}{path}" if path else root,
    }


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def _start(command: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


def _workers_once(run: Path, paid: int, parent: subprocess.Popen[bytes]) -> list[psutil.Process]:
    """Wait until the run's ledger has ``paid`` lines; then the parent's worker processes
    (forked from its fork server, a child of the parent: the workers are grandchildren)."""
    deadline = time.monotonic() + 120
    while _lines(run / "spend.jsonl") < paid:
        assert parent.poll() is None and time.monotonic() < deadline, "no progress"
        time.sleep(0.01)
    family = psutil.Process(parent.pid).children(recursive=True)
    return [c for c in family if "forkserver" in _cmdline(c) and _ppid(c) != parent.pid]


def _ppid(process: psutil.Process) -> int | None:
    try:
        return process.ppid()
    except psutil.Error:
        return None


def _cmdline(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.Error:  # ended meanwhile (a zombie has no command line)
        return ""


@pytest.mark.timeout(300)
async def test_a_killed_worker_or_parent_or_a_stop_loses_nothing_and_repays_nothing(
    tmp_path: Path,
) -> None:
    # The server answers at once, except while a kill or stop is on its way: then calls
    # take 50 ms, so that some are in flight when it lands.
    with FakeOpenAIServer(reply=script) as server:
        exp = experiment_file(tmp_path, server)
        clean = await run_experiment_async(exp, out=tmp_path / "clean", progress=False)
        once = bodies(server)
        server.reset()
        run = tmp_path / "run"
        command = [sys.executable, "-m", "oversight.cli", "run", str(exp), "--out", str(run)]
        command += ["--workers", "2", "--no-report", "--json"]

        # kill -9 of the worker: the parent finishes its own share and says to resume.
        server.latency = 0.05
        parent = _start(command)
        workers = _workers_once(run, clean.paid_calls // 4, parent)
        assert len(workers) == 1  # the parent runs share 0 itself
        os.kill(workers[0].pid, signal.SIGKILL)
        server.latency = 0.0
        out, _ = parent.communicate(timeout=120)
        stopped = json.loads(out)
        assert parent.returncode == 130 and stopped["status"] == "interrupted"
        assert re.search(r"worker 1 \(exit code -9\) ended before finishing", stopped["message"])
        assert 0 < stopped["items_complete"] < clean.items_total

        # SIGTERM to the parent (as Ctrl-C): every share stops after its calls in flight.
        server.latency = 0.05
        parent = _start(command)
        workers = _workers_once(run, _lines(run / "spend.jsonl") + 4, parent)
        parent.send_signal(signal.SIGTERM)
        out, _ = parent.communicate(timeout=120)
        assert parent.returncode == 130 and json.loads(out)["status"] == "interrupted"
        assert not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers)

        # kill -9 of the parent: its workers are told (SIGTERM) and stop as on Ctrl-C.
        parent = _start(command)
        workers = _workers_once(run, _lines(run / "spend.jsonl") + 4, parent)
        parent.kill()
        parent.wait()
        _, alive = psutil.wait_procs(workers, timeout=60)
        assert not alive, "every worker stopped once its parent was gone"

        server.latency = 0.0
        resumed = await run_experiment_async(exp, out=run, progress=False, workers=2)
    assert resumed.status == "complete"
    assert contents(run) == contents(tmp_path / "clean")
    assert repaid(run) == 0, "no call answered to the run was paid again"
    # Requests sent twice are only those the kill cut off in flight, and the run says so.
    sent_again = sum(n - once[body] for body, n in bodies(server).items() if n > once[body])
    assert sent_again <= resumed.calls_lost_in_flight


async def test_a_limit_smaller_than_the_workers_is_refused_before_anything_runs(
    tmp_path: Path,
) -> None:
    with FakeOpenAIServer(reply=script) as server:
        exp = experiment_file(tmp_path, server, max_concurrency=1)
        with pytest.raises(
            ConfigError, match=r"--workers 2 cannot share max_concurrency of openai/one-model = 1: "
        ):
            await run_experiment_async(exp, out=tmp_path / "run", progress=False, workers=2)
        assert server.total_requests == 0


def test_shares_are_disjoint_in_plan_order_and_sum_to_each_limit() -> None:
    from oversight.datasets import load_questions
    from oversight.experiment import load_experiment
    from oversight.runner._items import plan
    from oversight.runner._share import share_items, share_options

    exp = load_experiment(ROOT / "examples" / "quickstart.toml")
    items = list(plan(exp, load_questions(exp.dataset, exp.base_dir)))
    shares = [share_items(items, w, 3) for w in range(3)]
    assert sorted(i.id for s in shares for i in s) == sorted(i.id for i in items)
    for share in shares:
        assert share == [i for i in items if i in share], "plan order kept"
        # whole questions: no question is split between workers
        assert not {i.question.id for i in share} & {
            i.question.id for other in shares if other is not share for i in other
        }
    options = {"max_concurrency": 5, "rpm": 600.0, "tpm": 90_000.0, "timeout": 30}
    cut = [share_options(options, w, 2) for w in range(2)]
    assert [c["max_concurrency"] for c in cut] == [3, 2]
    assert [c["rpm"] for c in cut] == [300.0, 300.0] and cut[0]["tpm"] == 45_000.0
    assert cut[1]["timeout"] == 30  # not a limit: unchanged


async def test_workers_get_the_environment_of_the_run_not_of_their_fork_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fork server is started before the run (the command line starts it first) and
    keeps the environment it had then: a key set afterwards must still reach the workers."""
    from oversight._forkserver import start_early

    start_early()
    with FakeOpenAIServer(reply=script, latency=0.01) as server:
        text = experiment_file(tmp_path, server).read_text()
        exp = tmp_path / "late.toml"
        exp.write_text(text.replace(f'api_key_env = "{KEY_VARIABLE}"', 'api_key_env = "LATE_KEY"'))
        monkeypatch.setenv("LATE_KEY", "set-after-the-fork-server")
        result = await run_experiment_async(exp, out=tmp_path / "run", progress=False, workers=2)
        keys = Counter(r.headers.get("authorization") for r in server.requests)
    assert result.status == "complete"
    assert keys == {"Bearer set-after-the-fork-server": result.calls}


def _unpicklable_factory() -> Any:
    from oversight.endpoints import endpoint

    return lambda spec, **options: endpoint(spec, **options)  # a lambda cannot be pickled


async def test_an_endpoint_factory_a_worker_cannot_receive_is_refused_before_any_call(
    tmp_path: Path,
) -> None:
    with FakeOpenAIServer(reply=script, latency=0.01) as server:
        exp = experiment_file(tmp_path, server)
        with pytest.raises(ConfigError, match=r"endpoint_factory must be a module-level"):
            await run_experiment_async(
                exp,
                out=tmp_path / "run",
                progress=False,
                workers=2,
                endpoint_factory=_unpicklable_factory(),
            )
        assert server.requests == [], "nothing was sent"
    assert not (tmp_path / "run" / "transcripts.jsonl").exists()


async def test_a_worker_runs_its_exit_handlers_as_a_spawned_process_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker forked from the fork server ends with ``os._exit``: without running the
    ``atexit`` handlers itself, replies still pending in its response cache would be lost
    and the local model servers it started left running."""
    from tests.runner.exit_marker import MARKER, factory

    marker = tmp_path / "exits"
    monkeypatch.setenv(MARKER, str(marker))
    with FakeOpenAIServer(reply=script, latency=0.01) as server:
        exp = experiment_file(tmp_path, server)
        result = await run_experiment_async(
            exp, out=tmp_path / "run", progress=False, workers=2, endpoint_factory=factory
        )
    assert result.status == "complete"
    exited = [int(line) for line in marker.read_text().split()]
    assert len(exited) == 1 and exited[0] != os.getpid(), "the worker ran its handlers once"
