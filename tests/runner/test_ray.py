"""``oversight run --ray``: the items over a local Ray cluster on 127.0.0.1, each task into its
own store shard, merged into the run: the same run as one process; a merge cut off half way
finished by the next without a duplicate; a driver killed mid-run resumed with no answered
call paid again."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from oversight.runner import RunResult, run_experiment, run_experiment_async
from oversight.runner._merge import SHARDS
from oversight.testing import FakeOpenAIServer
from tests.optional import lazy, needs
from tests.runner.helpers import lone_shard
from tests.runner.test_workers import (
    KEY_VARIABLE,
    _env,
    _lines,
    bodies,
    contents,
    experiment_file,
    repaid,
    script,
)
from transcripts import RunStore

ray = lazy("ray")
pytestmark = [
    needs("ray", "Ray is not installed: the ray extra (pip install 'oversight[ray]')"),
    pytest.mark.xdist_group("ray"),  # one local Ray cluster, on one test worker
]


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A local Ray head on 127.0.0.1 for this module; its address. No worker is started
    ahead of a task: the run's tasks carry a runtime_env (the key variable), which a
    prestarted plain worker cannot serve, so prestarting only spent CPU while the tests ran."""
    context = ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        _node_ip_address="127.0.0.1",
        _system_config={"prestart_worker_first_driver": False, "enable_worker_prestart": False},
    )
    yield str(context.address_info["gcs_address"])
    ray.shutdown()


@pytest.fixture(scope="module")
def reference(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[RunResult, tuple[dict[str, Any], dict[str, Any]], Counter[str]]:
    """The experiment of this module run once, in one process without Ray: its result, its
    contents and its requests, which every run of the module must make again."""
    folder = tmp_path_factory.mktemp("reference")
    mp = pytest.MonkeyPatch()
    mp.setenv(KEY_VARIABLE, "test")
    mp.setenv("OVERSIGHT_CACHE", str(folder / "cache.sqlite"))
    try:
        with FakeOpenAIServer(reply=script) as server:
            exp = experiment_file(folder, server)
            one = run_experiment(exp, out=folder / "one", progress=False, summary=False)
            sent = bodies(server)
    finally:
        mp.undo()
    return one, contents(folder / "one"), sent


@pytest.fixture(autouse=True)
def fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_VARIABLE, "test")


def _duplicates(run: Path) -> int:
    """Records written twice over by a merge (identical lines of one log)."""
    twice = 0
    for name in ("transcripts.jsonl", "judgments.jsonl", "spend.jsonl", "sent.jsonl"):
        lines = (run / name).read_text().splitlines()
        twice += len(lines) - len(set(lines))
    return twice


@pytest.mark.timeout(300)
async def test_shards_merged_make_the_one_process_run_and_a_cut_merge_finishes(
    tmp_path: Path, cluster: str, reference: tuple[RunResult, Any, Counter[str]]
) -> None:
    from oversight.runner._merge import merge_shard, merge_shards

    one, one_contents, alone = reference
    with FakeOpenAIServer(reply=script, latency=0.005) as server:
        exp = experiment_file(tmp_path, server)
        run = tmp_path / "ray"
        merged = await run_experiment_async(exp, out=run, progress=False, ray=cluster, workers=2)
        sent = bodies(server)
    assert merged.status == one.status == "complete", merged.errors
    assert contents(run) == one_contents
    assert sent == alone, "the same requests, each sent once"
    assert (merged.items_complete, merged.paid_calls) == (one.items_total, one.paid_calls)
    assert merged.spent_usd == pytest.approx(one.spent_usd)
    assert not any((run / SHARDS).iterdir()), "every shard merged and removed"
    assert _duplicates(run) == 0

    # A merge cut off after half of a shard's records: the next merge adds the rest, once.
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    store = RunStore.open(copy)
    shard = copy / SHARDS / "0"
    shutil.copytree(run, shard, ignore=shutil.ignore_patterns(SHARDS, ".run.lock"))
    for name in ("transcripts.jsonl", "judgments.jsonl", "spend.jsonl"):
        (copy / name).unlink()
        (copy / f"{name}.idx").unlink()
    half = copy / SHARDS / "half"
    shutil.copytree(shard, half)
    for name in ("transcripts.jsonl", "judgments.jsonl", "spend.jsonl"):
        lines = (half / name).read_text().splitlines(keepends=True)
        (half / name).write_text("".join(lines[: len(lines) // 2]))
        (half / f"{name}.idx").unlink()
    assert merge_shard(store, half, []) > 0
    added = merge_shards(store, [])
    assert added > 0 and merge_shards(store, []) == 0
    store.close()
    assert contents(copy) == contents(run) and _duplicates(copy) == 0


def _kill_after(command: list[str], shards: Path) -> None:
    """Start the driver; SIGKILL it once its shards have 10 paid calls on record."""
    driver = subprocess.Popen(
        command, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while sum(_lines(p / "spend.jsonl") for p in shards.glob("*")) < 10:
        assert driver.poll() is None and time.monotonic() < deadline, "no progress"
        time.sleep(0.01)
    driver.send_signal(signal.SIGKILL)
    driver.wait()


@pytest.mark.timeout(300)
async def test_a_killed_driver_is_resumed_from_its_shards_with_nothing_repaid(
    tmp_path: Path, cluster: str, reference: tuple[RunResult, Any, Counter[str]]
) -> None:
    _, clean, once = reference
    # Slow enough that the driver is killed mid-run (after 10 of its 96 calls).
    with FakeOpenAIServer(reply=script, latency=0.02) as server:
        exp = experiment_file(tmp_path, server)
        run = tmp_path / "run"
        command = [sys.executable, "-m", "oversight.cli", "run", str(exp), "--out", str(run)]
        _kill_after([*command, "--ray", cluster, "--workers", "2", "--no-report"], run / SHARDS)
        assert any((run / SHARDS).iterdir()), "the shards wait for the next session's merge"
        server.latency = 0.0  # the kill has landed: the rest need not wait
        resumed = await run_experiment_async(exp, out=run, progress=False, ray=cluster, workers=2)
    assert resumed.status == "complete", resumed.errors
    assert contents(run) == clean
    assert repaid(run) == 0, "no call answered to the run was paid again"
    sent_again = sum(n - once[body] for body, n in bodies(server).items() if n > once[body])
    assert sent_again <= resumed.calls_lost_in_flight
    assert json.loads((run / "status.json").read_text())["status"] == "complete"


async def test_shards_left_behind_are_merged_by_a_plain_resume_and_count_against_its_cap(
    tmp_path: Path, reference: tuple[RunResult, Any, Counter[str]]
) -> None:
    """Shards a killed Ray driver left are merged by the next `oversight run` of the folder,
    with or without --ray, before it plans and before it counts what the run has spent: no
    item of theirs is run (and paid) again, and their spend counts against the cap."""
    import asyncio

    from oversight.datasets import load_questions
    from oversight.experiment import load_experiment
    from oversight.runner._items import plan
    from oversight.runner._ray import run_shard

    whole, whole_contents, _ = reference
    with FakeOpenAIServer(reply=script) as server:
        exp_file = experiment_file(tmp_path, server)
        run = tmp_path / "run"
        # The driver's first session began the run (it stopped before any call) ...
        first = await run_experiment_async(exp_file, out=run, progress=False, max_cost_usd=0)
        assert first.status == "stopped: cost cap" and first.calls == 0
        # ... and its one Ray task ran every item into its shard before the driver died.
        exp = load_experiment(exp_file)
        items = plan(exp, load_questions(exp.dataset, exp.base_dir))
        job = lone_shard(exp, run, (i.id for i in items))
        end = await asyncio.to_thread(run_shard, job)
        assert end.result.status == "complete"
        server.reset()
        # A cap below what the shard spent: the run is past it, nothing more is sent.
        cap = whole.spent_usd / 2
        resumed = await run_experiment_async(exp_file, out=run, progress=False, max_cost_usd=cap)
        sent = len(server.requests)
    assert sent == 0, f"{sent} calls of items the shard had done were sent (and paid) again"
    assert not (run / SHARDS / "0").exists(), "the shard was merged"
    assert resumed.status == "complete", resumed.errors
    assert resumed.spent_usd == pytest.approx(whole.spent_usd)
    assert contents(run) == whole_contents
    assert repaid(run) == 0
