"""Shared fixtures: every test gets its own response cache and no real provider keys.

Fake provider servers (real sockets on 127.0.0.1, on a free port each) are fixtures too:
``openai_server`` and ``anthropic_server`` start one per test; tests script them through
their attributes. ``nyu_run`` is the real NYU human-debate dataset imported once per test
session (``nyu_data`` is where it lies; both skip when it is absent).

Every test is safe to run in parallel (``pytest -n auto``, pytest-xdist): ports are chosen
by the OS, files go to ``tmp_path``, the environment is changed through ``monkeypatch``.
``.ci/dev test`` runs them with ``--dist loadscope``: each module's tests on one worker, so
a module-scoped fixture (a run several tests of a module only read, the llama.cpp server
of the ``local_model`` tests) is built once, and a session fixture (the NYU import) at most
once per worker. (``--dist loadgroup`` with ``xdist_group`` marks groups nothing under
pytest 9.2 with pytest-xdist 3.8: xdist renames ``item._nodeid``, which pytest no longer
reads.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from oversight.endpoints._cache import close_caches
from oversight.testing import FakeAnthropicServer, FakeOpenAIServer
from transcripts.importers.nyu import ImportSummary, import_nyu_debate

NYU_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nyu-debate"
"""The real NYU debate dataset, next to the repository (read-only)."""

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
