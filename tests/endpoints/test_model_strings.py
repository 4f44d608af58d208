"""Inspect-style model strings: ``openai-api/<provider>/<model>``, ``vllm/``, ``ollama/``."""

from __future__ import annotations

import pytest

from oversight.endpoints import endpoint
from oversight.errors import ConfigError, MissingAPIKeyError
from oversight.testing import FakeOpenAIServer


async def test_openai_api_provider_reads_its_own_base_url_and_key(
    openai_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOGETHER_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("TOGETHER_API_KEY", "together-secret")
    ep = endpoint("openai-api/together/meta-llama/Llama-3.3-70B")
    completion = await ep.complete("hi", max_tokens=5)
    request = openai_server.requests[0]
    assert request.body["model"] == "meta-llama/Llama-3.3-70B"
    assert request.api_key == "together-secret"
    assert completion.call.provider == "openai-api/together"
    assert completion.call.endpoint == "openai-api/together/meta-llama/Llama-3.3-70B"


async def test_a_hyphenated_provider_names_underscored_variables(
    openai_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_LAB_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("MY_LAB_API_KEY", "k")
    await endpoint("openai-api/my-lab/m1").complete("hi")
    assert openai_server.requests[0].api_key == "k"


def test_missing_base_url_or_key_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GROQ_BASE_URL", raising=False)
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="GROQ_BASE_URL"):
        endpoint("openai-api/groq/llama3")
    monkeypatch.setenv("GROQ_BASE_URL", "http://127.0.0.1:9/v1")
    with pytest.raises(MissingAPIKeyError, match="GROQ_API_KEY"):
        endpoint("openai-api/groq/llama3").check_credentials()
    with pytest.raises(ConfigError, match="openai-api/<provider>/<model>"):
        endpoint("openai-api/groq")


async def test_vllm_and_ollama_shorthands_need_no_key(
    openai_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VLLM_API_KEY", raising=False)
    monkeypatch.setenv("VLLM_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("OLLAMA_BASE_URL", openai_server.base_url)
    vllm = endpoint("vllm/Qwen/Qwen2.5-7B-Instruct")
    vllm.check_credentials()
    completion = await vllm.complete("hi")
    assert openai_server.requests[0].body["model"] == "Qwen/Qwen2.5-7B-Instruct"
    assert completion.cost_usd == 0.0  # one's own server: free unless pricing= says otherwise
    await endpoint("ollama/llama3.2").complete("hi")
    assert openai_server.requests[1].body["model"] == "llama3.2"
    monkeypatch.setenv("VLLM_API_KEY", "vk")
    await endpoint("vllm/other").complete("hi")
    assert openai_server.requests[2].api_key == "vk"


def test_local_shorthands_default_to_the_usual_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VLLM_BASE_URL", raising=False)
    monkeypatch.delenv("OLLAMA_BASE_URL", raising=False)
    assert endpoint("vllm/m").backend.server == "http://localhost:8000/v1"
    assert endpoint("ollama/m").backend.server == "http://localhost:11434/v1"
    assert endpoint("ollama/m", base_url="http://10.0.0.2:11434/v1").backend.server == (
        "http://10.0.0.2:11434/v1"
    )
