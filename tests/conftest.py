"""Shared fixtures: every test gets its own response cache and no real provider keys.

Fake provider servers (real sockets on 127.0.0.1, on a free port each) are fixtures too:
``openai_server`` and ``anthropic_server`` start one per test; tests script them through
their attributes. ``nyu_run`` is the real NYU human-debate dataset imported once per test
session (``nyu_data`` is where it lies; both skip when it is absent). ``quickstart_run`` is
a test's own copy of the quickstart run (``examples/quickstart.toml``, mock models), run
once per test session (``quickstart_once``) and copied in milliseconds.

Every test is safe to run in parallel (``pytest -n auto``, pytest-xdist): ports are chosen
by the OS, files go to ``tmp_path``, the environment is changed through ``monkeypatch``.
``.ci/dev test`` runs them with ``--dist loadgroup``, which here means (see
:func:`pytest_xdist_make_scheduler`): one test at a time to whichever worker is free, except
that the tests sharing an expensive fixture go to one worker together, so it is built once:
every user of the NYU import, and each module that has a module-scoped fixture (a run
several of its tests only read; the llama.cpp server of the ``local_model`` tests).
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from oversight.endpoints._cache import close_caches
from oversight.testing import FakeAnthropicServer, FakeOpenAIServer
from transcripts.importers.nyu import ImportSummary, import_nyu_debate

NYU_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nyu-debate"
"""The real NYU debate dataset, next to the repository (read-only)."""

ROOT = Path(__file__).resolve().parents[1]
# Every process a test starts (``oversight`` in a terminal, a worker, a killed run) imports
# the code under test whatever its working folder: else an editable install of another
# checkout (a second worktree of this repository) would answer in a temporary folder.
os.environ["PYTHONPATH"] = os.pathsep.join(
    part for part in (str(ROOT), os.environ.get("PYTHONPATH")) if part
)

_KEY_VARIABLES = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "OVERSIGHT_OFFLINE",
)


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private cache file per test, and no provider keys from the developer's shell."""
    cache = tmp_path / "cache" / "responses.sqlite"
    monkeypatch.setenv("OVERSIGHT_CACHE", str(cache))
    for name in _KEY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name in ("COLUMNS", "LINES"):  # pytest-xdist workers set 80x24; a serial run does not
        monkeypatch.delenv(name, raising=False)
    yield cache
    close_caches()


@pytest.fixture
async def openai_server() -> AsyncIterator[FakeOpenAIServer]:
    """A fake OpenAI-compatible server on 127.0.0.1 (script it through its attributes)."""
    async with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
async def anthropic_server() -> AsyncIterator[FakeAnthropicServer]:
    """A fake Anthropic-compatible server on 127.0.0.1 (script it through its attributes)."""
    async with FakeAnthropicServer() as server:
        yield server


@pytest.fixture(scope="session")
def nyu_data() -> Path:
    """The NYU debate dataset's folder; the test is skipped when it is not there."""
    if not (NYU_DATA / "debates-metadata.jsonl").is_file():
        pytest.skip(f"the NYU debate dataset is not at {NYU_DATA}")
    return NYU_DATA


@pytest.fixture(scope="session")
def nyu_run(nyu_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[ImportSummary, Path]:
    """The dataset imported once per session: the summary and the run folder (read it only)."""
    out = tmp_path_factory.mktemp("nyu") / "run"
    return import_nyu_debate(nyu_data, out), out


class Quickstart(NamedTuple):
    """The quickstart run made once per session: its folder (never changed) and what
    ``oversight run`` printed."""

    folder: Path
    printed: str


@pytest.fixture(scope="session")
def quickstart_once(tmp_path_factory: pytest.TempPathFactory) -> Quickstart:
    """``oversight run examples/quickstart.toml --no-progress --no-report``, once per test
    session (each test worker): read it through :func:`quickstart_run`, a copy."""
    from oversight.cli import main

    out = tmp_path_factory.mktemp("quickstart") / "run"
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(printed):
        patch.setenv("OVERSIGHT_CACHE", str(out.parent / "cache.sqlite"))
        quickstart = ROOT / "examples" / "quickstart.toml"
        code = main(["run", str(quickstart), "--out", str(out), "--no-progress", "--no-report"])
        close_caches()
    assert code == 0, printed.getvalue()
    return Quickstart(out, printed.getvalue())


@pytest.fixture
def quickstart_run(quickstart_once: Quickstart, tmp_path: Path) -> Path:
    """This test's own copy of the finished quickstart run (``tmp_path / "quickstart"``):
    the same folder a fresh run makes, for a test to read, resume, judge or re-judge."""
    return Path(shutil.copytree(quickstart_once.folder, tmp_path / "quickstart"))


@pytest.hookimpl(optionalhook=True)  # known only with pytest-xdist
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """With ``--dist loadgroup``: load scheduling in the work units of :func:`_work_unit`.

    pytest-xdist's own loadgroup reads ``xdist_group`` marks by renaming ``item._nodeid``,
    which pytest 9 no longer reads, so it groups nothing; and its scheduler runs in the
    controller, which never collects, so the units are decided from the test files' text.
    """
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SharedFixtures(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _work_unit(nodeid)

    return SharedFixtures(config, log)


def _work_unit(nodeid: str) -> str:
    """``nyu`` for a test in a module that uses the NYU import, the module for one with a
    module-scoped fixture, else the test itself."""
    path = nodeid.split("::", 1)[0]
    text = _source(path)
    if "nyu_run" in text:
        return "nyu"
    if 'scope="module"' in text or "pytest.mark.local_model" in text:
        return path
    return nodeid


@functools.cache
def _source(path: str) -> str:
    file = Path(__file__).resolve().parents[1] / path
    return file.read_text(encoding="utf-8") if file.is_file() else ""
