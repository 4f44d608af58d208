"""Shared fixtures: every test gets its own response cache and no real provider keys.

Fake provider servers (real sockets on 127.0.0.1) are fixtures too: ``openai_server`` and
``anthropic_server`` start one per test; tests script them through their attributes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from oversight.endpoints._cache import close_caches
from oversight.testing import FakeAnthropicServer, FakeOpenAIServer

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
