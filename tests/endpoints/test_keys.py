"""API keys: from the usual variables, a clear error when missing, never written anywhere."""

from __future__ import annotations

import asyncio
import logging
import traceback
from pathlib import Path

import pytest

from oversight.endpoints import endpoint
from oversight.errors import ConfigError, MissingAPIKeyError, ProviderError, RetriesExhaustedError
from oversight.testing import FakeAnthropicServer, FakeOpenAIServer, Fault


async def test_a_missing_key_is_named_at_first_use_not_before() -> None:
    ep = endpoint("openai/gpt-4o-mini")  # making it needs no key
    with pytest.raises(MissingAPIKeyError, match="set the environment variable OPENAI_API_KEY"):
        await ep.complete("hi")
    claude = endpoint("anthropic/claude-haiku-4-5")
    with pytest.raises(MissingAPIKeyError, match="ANTHROPIC_API_KEY"):
        await claude.complete("hi")
    custom = endpoint("openai/llama-3-70b", base_url="http://127.0.0.1:9/v1", api_key_env="MY_KEY")
    with pytest.raises(MissingAPIKeyError, match="MY_KEY"):
        await custom.complete("hi")


def test_credentials_can_be_checked_before_any_call() -> None:
    with pytest.raises(MissingAPIKeyError, match="OPENAI_API_KEY"):
        endpoint("openai/gpt-4o-mini").check_credentials()
    with pytest.raises(MissingAPIKeyError, match="ANTHROPIC_API_KEY"):
        endpoint("anthropic/claude-haiku-4-5").check_credentials()
    # A server of one's own needs no key unless one is named; mocks never do.
    endpoint("openai/qwen2.5-7b", base_url="http://127.0.0.1:9/v1").check_credentials()
    with pytest.raises(MissingAPIKeyError, match="MY_KEY"):
        endpoint(
            "openai/qwen2.5-7b", base_url="http://127.0.0.1:9/v1", api_key_env="MY_KEY"
        ).check_credentials()
    endpoint("mock/anything").check_credentials()


def test_a_key_given_as_api_key_env_is_refused_without_repeating_it() -> None:
    # api_key_env names a variable; a key put there by mistake was repeated in the
    # missing-variable message ("set the environment variable sk-proj-...").
    for key in (
        "sk-proj-SECRETabcdefghijklmnop1234",
        "gsk_SECRETabcdefghijklmnop1234567890",
        "3f9a1c0e7b2d4a6f8e0c1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f1a3c5e7b9d1f3a",
    ):
        with pytest.raises(ConfigError, match="not the key itself") as info:
            endpoint("openai/gpt-4o-mini", api_key_env=key)
        assert "SECRET" not in str(info.value) and key not in str(info.value)
    for name in ("together_api_key_2", "my_organisation_together_api_key_2024"):
        endpoint("openai/gpt-4o-mini", api_key_env=name)  # variable names


async def test_keys_come_from_the_environment(
    openai_server: FakeOpenAIServer,
    anthropic_server: FakeAnthropicServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "from-openai-variable")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "from-anthropic-variable")
    monkeypatch.setenv("TOGETHER_API_KEY", "from-together-variable")
    await endpoint("openai/gpt-4o-mini", base_url=openai_server.base_url).complete("a")
    await endpoint(
        "openai/llama", base_url=openai_server.base_url, api_key_env="TOGETHER_API_KEY"
    ).complete("b")
    await endpoint("anthropic/claude-haiku-4-5", base_url=anthropic_server.base_url).complete("c")
    assert [r.api_key for r in openai_server.requests] == [
        "from-openai-variable",
        "from-together-variable",
    ]
    assert anthropic_server.requests[0].api_key == "from-anthropic-variable"


async def test_a_local_compatible_server_needs_no_key(openai_server: FakeOpenAIServer) -> None:
    ep = endpoint("openai/qwen2.5-7b", base_url=openai_server.base_url)
    assert (await ep.complete("hi")).text == "echo: hi"


async def test_no_key_appears_in_any_file_the_run_writes(tmp_path: Path) -> None:
    openai_key, anthropic_key = "sk-proj-SECRET0penAI1234567890", "sk-ant-SECRETclaude0987654321"
    log_file = tmp_path / "run.log"
    handler = logging.FileHandler(log_file)
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        leak = Fault.error(401, f"Incorrect API key provided: {openai_key}", error_type="auth")
        async with (
            FakeOpenAIServer(faults=[leak]) as gpt,
            FakeAnthropicServer(faults=[Fault.overloaded(retry_after=0.01)]) as claude,
        ):
            cache = tmp_path / "cache.sqlite"
            ep = endpoint(
                "openai/gpt-4o-mini", base_url=gpt.base_url, api_key=openai_key, cache=cache
            )
            with pytest.raises(ProviderError) as info:
                await ep.complete("first")
            logging.getLogger("test").exception("the run failed: %s", info.value)
            assert openai_key not in str(info.value) and "***" in str(info.value)
            judge = endpoint(
                "anthropic/claude-haiku-4-5",
                base_url=claude.base_url,
                api_key=anthropic_key,
                cache=cache,
            )
            await asyncio.gather(
                *(ep.complete(f"q{i}") for i in range(5)),
                *(judge.complete(f"q{i}", schema={"type": "integer"}) for i in range(5)),
            )
            logging.getLogger("test").info("endpoints: %r %r %r", ep, judge, ep.options)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()
    assert gpt.requests[0].api_key == openai_key  # the key was really used
    written = files_under(tmp_path)
    assert log_file in written and cache in written
    assert b"Incorrect API key provided: ***" in written[log_file]
    for path, data in written.items():
        assert openai_key.encode() not in data, path
        assert anthropic_key.encode() not in data, path


async def test_a_traceback_of_a_provider_error_does_not_quote_the_key(tmp_path: Path) -> None:
    # An uncaught error (a script, a notebook) or log.exception prints the whole chain: the
    # SDK's own exception under ours quotes the provider's unredacted message.
    key = "sk-proj-SECRETtraceback1234567890"
    refused = Fault.error(401, f"Incorrect API key provided: {key}", error_type="auth")
    failing = Fault.error(500, f"upstream rejected key {key}")
    async with FakeOpenAIServer(faults=[refused, failing, failing]) as gpt:
        ep = endpoint(
            "openai/gpt-4o-mini",
            base_url=gpt.base_url,
            api_key=key,
            cache=False,
            max_retries=1,
            retry_backoff=0.01,
        )
        for expected in (ProviderError, RetriesExhaustedError):
            with pytest.raises(expected) as info:
                await ep.complete("hi")
            printed = "".join(traceback.format_exception(info.value))
            assert "***" in printed and key not in printed
    # An error that quotes no key keeps the provider's exception as its cause.
    async with FakeOpenAIServer(faults=[Fault.error(400, "bad request")]) as gpt:
        ep = endpoint("openai/gpt-4o-mini", base_url=gpt.base_url, api_key=key, cache=False)
        with pytest.raises(ProviderError) as info:
            await ep.complete("hi")
        assert info.value.__cause__ is not None


def files_under(root: Path) -> dict[Path, bytes]:
    """Every file under ``root`` with its bytes (the cache's WAL and SHM files included)."""
    return {path: path.read_bytes() for path in root.rglob("*") if path.is_file()}


def test_a_key_inside_a_base_url_is_kept_out_of_the_cache_key_and_the_log_name() -> None:
    """A gateway's URL may carry the key as a path segment or a query value; from Python or
    OPENAI_BASE_URL it is not refused as it is in an experiment file. The server in the
    response cache's stored request (the backend's identity) and in the rate-limit log
    line's name is the URL without it (they held the whole URL); a URL without a key is
    unchanged, so no cache key moves."""
    key = "sk-proj-SECRETinURL1234567890abc"
    for url, shown in [
        (f"https://gw.example/{key}/v1", "https://gw.example/***/v1"),
        (
            f"https://gw.example/v1?api-key={key}&region=eu",
            "https://gw.example/v1?api-key=***&region=eu",
        ),
        (f"https://gw.example/v1?key={key}", "https://gw.example/v1?key=***"),
        (f"https://user:{key}@gw.example/v1", "https://gw.example/v1"),
    ]:
        ep = endpoint("openai/gpt-4o-mini", base_url=url, api_key="k")
        assert ep.backend.server == url  # the calls still go where they were told
        assert ep.backend.identity()["server"] == shown, url
        assert ep.limits.name == f"openai/gpt-4o-mini at {shown}"
    for plain in ["http://127.0.0.1:8000/v1", "https://api.example/v1?api-version=2024-06-01"]:
        ep = endpoint("openai/gpt-4o-mini", base_url=plain, api_key="k")
        assert ep.backend.identity()["server"] == plain
