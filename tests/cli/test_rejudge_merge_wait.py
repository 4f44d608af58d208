"""``oversight rejudge`` merging the shards a killed ``--ray`` driver left: a wait for a Ray
task still writing its shard is said, with what it waits for and how to stop it, and a
command refused meanwhile is told what holds the run."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from oversight import rejudge
from oversight.runner import _merge
from oversight.runner._lock import run_lock
from oversight.runner._merge import SHARDS, shard_lock
from transcripts import RunStore
from transcripts.errors import ConfigError

from ..transcripts.factories import debate


class _Screen(io.StringIO):
    """A terminal that calls ``on_wait`` the moment the wait is said, as a person would act
    on reading it (while the command waits)."""

    def __init__(self, on_wait: Callable[[], None]) -> None:
        super().__init__()
        self.on_wait = on_wait

    def write(self, text: str) -> int:
        written = super().write(text)
        if "waiting" in self.getvalue() and self.on_wait is not None:
            on_wait, self.on_wait = self.on_wait, None  # type: ignore[assignment]
            on_wait()
        return written


def _left_shard(tmp_path: Path) -> tuple[Path, Path]:
    """A run and the shard its killed driver left, one transcript in it."""
    run = tmp_path / "run"
    store = RunStore.create(run)
    shard = run / SHARDS / "0"
    part = RunStore.create(shard, run_id=store.run_id)
    part.transcripts.append(debate(id="t1"))
    part.close()
    store.close()
    return run, shard


def _refusal(run: Path) -> str:
    """What a second command that writes the run (``oversight run``) is told."""
    with pytest.raises(ConfigError) as refused:
        run_lock(run).release()
    return str(refused.value)


def test_the_wait_for_a_task_still_writing_its_shard_is_said_and_the_run_lock_named(
    tmp_path: Path,
) -> None:
    run, shard = _left_shard(tmp_path)
    task = shard_lock(shard)
    task.acquire()  # the Ray task is still writing its shard
    seen: list[str] = []

    def meanwhile() -> None:
        seen.append(_refusal(run))
        task.release()  # the cluster ends the task: the merge goes on at once

    screen = _Screen(meanwhile)
    result = rejudge(run, "llm:mock/weak", console=Console(file=screen, width=300))
    said = " ".join(screen.getvalue().split())
    assert f"waiting up to 60 s for a Ray task still writing {shard}" in said
    assert "Ctrl-C stops the wait" in said
    # The command refused meanwhile is told the truth: a rejudge merging, not a run.
    assert len(seen) == 1 and "`oversight rejudge`" in seen[0]
    assert "merging the shards" in seen[0] and "`oversight run` is writing" not in seen[0]
    # The shard was merged and its transcript judged; the run is free again.
    assert result.judged == 1 and not shard.exists()
    assert [t.id for t in RunStore.open(run).transcripts] == ["t1"]
    run_lock(run).release()


def test_a_task_that_never_ends_stops_the_wait_with_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_merge, "MERGE_WAIT_S", 0.0)  # the wait's end, without waiting it
    run, shard = _left_shard(tmp_path)
    task = shard_lock(shard)
    task.acquire()
    screen = io.StringIO()
    try:
        with pytest.raises(ConfigError, match="still being written by a Ray task"):
            rejudge(run, "llm:mock/weak", console=Console(file=screen, width=300))
    finally:
        task.release()
    assert "Ctrl-C stops the wait" in " ".join(screen.getvalue().split())
    assert shard.is_dir() and not list(RunStore.open(run).judgments)
    # A later command is not told the run is held: the wait let go of it.
    run_lock(run).release()


def test_a_second_run_is_told_an_oversight_run_holds_the_folder(tmp_path: Path) -> None:
    held = run_lock(tmp_path)
    try:
        said = _refusal(tmp_path)
    finally:
        held.release()
    assert f"another `oversight run` is writing {tmp_path}" in said


def test_a_rejudge_beside_a_merge_says_it_judges_without_the_shards(tmp_path: Path) -> None:
    run, shard = _left_shard(tmp_path)
    held = run_lock(run, doing=f"`oversight rejudge` is merging the shards into {run}")
    screen = io.StringIO()
    try:
        result = rejudge(run, "llm:mock/weak", console=Console(file=screen, width=300))
    finally:
        held.release()
    said = " ".join(screen.getvalue().split())
    assert f"1 shard(s) in {run / SHARDS} are not merged" in said
    assert f"`oversight rejudge` is merging the shards into {run}" in said
    assert result.judged == 0 and shard.is_dir()
