"""A run's and a re-judging's calls go out with fewer garbage collections
(:mod:`oversight._gc`), and the caller's own collector settings are back afterwards.

The fake server runs in this process, so what it sees when a request arrives is the
process's setting while the run has that call in flight.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from oversight import rejudge
from oversight._gc import YOUNG_OBJECTS, fewer_collections
from oversight.runner import run_experiment
from oversight.testing import FAKE_KEY_VARIABLE, FakeOpenAIServer, fake_experiment, scripted_verdict


@pytest.fixture
def own_thresholds() -> Iterator[tuple[int, int, int]]:
    """A caller whose process runs its own collector thresholds (put back after the test)."""
    before = gc.get_threshold()
    gc.set_threshold(1_234, 7, 9)
    try:
        yield (1_234, 7, 9)
    finally:
        gc.set_threshold(*before)


def test_run_and_rejudge_calls_go_out_with_fewer_collections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, own_thresholds: tuple[int, int, int]
) -> None:
    monkeypatch.setenv(FAKE_KEY_VARIABLE, "test")
    seen: list[tuple[int, ...]] = []

    def reply(body: dict[str, Any]) -> Any:
        seen.append(gc.get_threshold())
        return scripted_verdict(body)

    with FakeOpenAIServer(reply=reply) as server:
        path = tmp_path / "fake.toml"
        path.write_text(fake_experiment(server.base_url, protocol_options={"resamples": 0}))
        result = run_experiment(path, out=tmp_path / "run")
        assert result.status == "complete"
        ran = len(seen)
        assert ran > 0
        assert gc.get_threshold() == own_thresholds, "the caller's settings are back"
        again = rejudge(tmp_path / "run", "llm:second")
        assert again.judged > 0
        assert gc.get_threshold() == own_thresholds

    assert len(seen) > ran, "the re-judging made calls of its own"
    # Every call, the run's and the re-judging's, found the youngest generation collected
    # 50,000 net allocations apart, and the caller's older generations as they were.
    assert set(seen) == {(YOUNG_OBJECTS, 7, 9)}


def test_overlapping_blocks_restore_once_the_last_ends(
    own_thresholds: tuple[int, int, int],
) -> None:
    first, second = fewer_collections(), fewer_collections()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert gc.get_threshold() == (YOUNG_OBJECTS, 7, 9), "the other run still has calls out"
    second.__exit__(None, None, None)
    assert gc.get_threshold() == own_thresholds


def test_a_higher_setting_of_the_process_is_kept_and_an_error_restores() -> None:
    before = gc.get_threshold()
    gc.set_threshold(200_000, 10, 10)
    try:
        with pytest.raises(RuntimeError), fewer_collections():
            assert gc.get_threshold() == (200_000, 10, 10), "never lowered"
            raise RuntimeError("a run that failed")
        assert gc.get_threshold() == (200_000, 10, 10)
    finally:
        gc.set_threshold(*before)


def test_blocks_in_two_threads_leave_the_settings_as_they_were(
    own_thresholds: tuple[int, int, int],
) -> None:
    inside = threading.Barrier(2)
    during: list[tuple[int, ...]] = []

    def one() -> None:
        with fewer_collections():
            inside.wait()
            during.append(gc.get_threshold())
            inside.wait()

    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert during == [(YOUNG_OBJECTS, 7, 9)] * 2
    assert gc.get_threshold() == own_thresholds
