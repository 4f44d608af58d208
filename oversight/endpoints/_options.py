"""The options every endpoint takes, checked once when the endpoint is made."""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from oversight.endpoints._pricing import Price
from transcripts.errors import ConfigError

__all__ = ["EndpointArgs", "EndpointOptions", "parse_options"]


_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KEY_LIKE = re.compile(r"^(?=.*[a-z])(?=.*[0-9])(?!(?:.*_){2}).{32,}$")
"""Long, with lower-case letters and digits, and not words joined by underscores: a key
(hex, base62, ``gsk_...``), not a variable name."""


class EndpointOptions(BaseModel):
    """Options of ``endpoint(spec, **options)``; every one is keyword-only and optional."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    api_key: SecretStr | None = None
    """API key; by default read from the provider's variable (``OPENAI_API_KEY``,
    ``ANTHROPIC_API_KEY``) at first use. Never written to any file or log."""
    api_key_env: str | None = None
    """Name of the environment variable holding the key, e.g. ``TOGETHER_API_KEY``. A value
    that is no variable name, or looks like a key, is refused without being repeated (a
    missing variable's message names it)."""
    base_url: str | None = None
    """Server address for OpenAI- or Anthropic-compatible servers (vLLM, llama.cpp, Ollama, ...)."""
    timeout: float = Field(default=120.0, gt=0)
    """Seconds an attempt may wait to connect or for the server's next bytes before it
    counts as timed out (and is retried). ``local/`` default: 600, and replies stream, so
    this is the wait for each next token, never a cap on a whole generation. A request
    waiting in a server's own queue (llama.cpp's, every slot busy) waits within it: for
    a llama.cpp server the requests in flight are therefore its slots (see ``llama_cpp``)."""
    max_retries: int = Field(default=10, ge=0)
    """Retries after the first attempt, for rate limits, overload, 5xx, timeouts, dropped
    connections and malformed bodies. Other client errors are never retried."""
    max_retry_time: float = Field(default=600.0, gt=0)
    """Seconds from the first attempt after which no retry is started (waits included)."""
    retry_backoff: float = Field(default=0.5, ge=0)
    """First exponential backoff step in seconds (doubling, with jitter) when no Retry-After."""
    retry_backoff_max: float = Field(default=30.0, ge=0)
    """Longest single backoff in seconds."""
    validation_retries: int = Field(default=2, ge=0)
    """Re-asks after a reply that does not match the schema (structured output). A re-ask is
    never the identical request: the invalid reply and the validation error are added to the
    conversation and the seed moves on by one. A reply cut at ``max_tokens`` is not re-asked
    (the same limit would cut it again): it fails at once, naming ``max_tokens``."""
    judge_attempts: int = Field(default=3, ge=1)
    """Times an LLM judge on this endpoint asks, per sample, for a verdict whose numbers are
    usable probabilities before the judgment fails (each re-ask shows the model what was
    wrong). A judge's own ``max_attempts`` overrides it."""
    max_concurrency: int | None = Field(default=None, ge=1)
    """Requests in flight at once, shared by every endpoint of the same model and server in
    the process. None: 64 for remote providers, the slots of a llama.cpp server (``parallel``
    for a ``local/`` one), unlimited for mocks."""
    rpm: float | None = Field(default=None, gt=0)
    """Requests per minute, shared like ``max_concurrency``."""
    tpm: float | None = Field(default=None, gt=0)
    """Tokens per minute (estimate of the prompt and schema, about 4 characters a token, plus
    ``max_tokens``), shared like ``max_concurrency``."""
    cache: bool | str | Path | None = None
    """Response cache: True for ``$OVERSIGHT_CACHE`` or ``~/.cache/oversight/responses.sqlite``,
    a path for a file of your own, False for none. None: True, except for mocks."""
    offline: bool | None = None
    """Answer only from the cache, never send (a miss raises ``CacheMissError``).
    None: on when the environment has ``OVERSIGHT_OFFLINE=1``."""
    pricing: Price | str | dict[str, float] | None = None
    """Price of this endpoint's model: a :class:`Price`, a dict with ``input``/``output``
    (/``cached_input``) in USD per million tokens, or the name of a model whose price to use."""
    structured: Literal["native", "tool", "json_object", "prompt"] = "native"
    """How a schema is sent: the provider's native structured output (OpenAI ``json_schema``,
    Anthropic ``output_config``), Anthropic forced tool use, OpenAI ``json_object`` mode, or
    only as an instruction in the system prompt (for servers with no support)."""
    stream: bool | None = None
    """Stream the reply; None: the provider's default (Anthropic and ``local/``: True, OpenAI:
    False). Streamed, ``timeout`` bounds the wait for each next piece of the reply, not the
    whole reply, so a long generation that keeps producing tokens is never cut off."""
    transport: Literal["aiohttp", "httpx"] = "aiohttp"
    """``openai/``, ``anthropic/`` and compatible servers: the HTTP client under the SDK.
    ``aiohttp`` (the SDKs' own ``DefaultAioHttpClient``) costs about half the client CPU of
    a call that ``httpx`` (the SDKs' default) does (BENCHMARKS.md, "The debate workload");
    both honour the same timeouts, streaming and retries. Not part of the cache key."""
    extra_body: dict[str, Any] | None = None
    """Extra request fields sent as they are (e.g. ``{"top_p": 0.9}``); part of the cache key."""
    prompt_cache: bool = True
    """``anthropic/`` only: mark a long system prompt (the hidden story and instructions a
    debater, consultant or critic reads on every turn) as a prompt-cache breakpoint
    (``cache_control``), so later calls read it at a tenth of the input price. OpenAI caches
    long prefixes by itself; both report cached (and Anthropic cache-write) tokens."""
    cache_breakpoint_tokens: int = Field(default=1024, ge=1)
    """``anthropic/`` only: system prompts of at least this many tokens (about 4 characters
    each) get a breakpoint; Anthropic caches nothing shorter than 1024 (2048 for Haiku)."""
    batch: bool = False
    """Send this endpoint's batchable requests (``complete(..., batchable=True)`` or inside
    ``batchable_calls()``: calls nothing waits on at once) through the provider's batch API
    (OpenAI Batch API, Anthropic Message Batches) at half price, answered when the batch
    ends (minutes to hours). Its other requests are sent at once at the standard price."""
    batch_window: float = Field(default=1.0, ge=0)
    """Seconds requests are gathered before a batch is submitted."""
    batch_poll_interval: float = Field(default=30.0, ge=0)
    """Seconds between checks of a submitted batch's status."""
    llama_cpp: bool | None = None
    """``openai/`` and compatible servers: whether the server at ``base_url`` is llama.cpp's
    ``llama-server``. None: told by its replies (llama.cpp names itself in each one's
    ``Server`` header), from the first reply on; True: known before the first request.
    For a llama.cpp server, JSON schemas go lenient (a keyword its grammar engine cannot
    enforce is left to validation, not the whole schema dropped), and where no
    ``max_concurrency`` is set the requests in flight are its slots (``/props``
    ``total_slots``, its ``-np``, asked again after a failed connection or a timeout): a
    request beyond them would wait in the server's queue, where its ``timeout`` already
    runs. With None and no ``max_concurrency``, the requests after the endpoint's first
    wait for its reply (once) so that they are held to the slots too; False skips that
    wait. ``local/`` servers are llama.cpp's."""
    replies: Any = None
    """``mock/`` only: a list of replies, or a sync or async function of the request."""
    ctx_size: int | None = Field(default=None, ge=256)
    """``local/`` only: context window of each request on the llama.cpp server, in tokens.
    None: the model's own context length from its GGUF metadata, at most 16384. A prompt
    that cannot fit with its ``max_tokens`` is refused before it is sent."""
    parallel: int = Field(default=2, ge=1)
    """``local/`` only: requests the llama.cpp server decodes at once."""
    threads: int | None = Field(default=None, ge=1)
    """``local/`` only: CPU threads llama.cpp computes with. None: the cores this process may
    use. (OpenMP is told to sleep, not spin, when idle: ``OMP_WAIT_POLICY=passive`` unless
    the environment sets it.)"""
    chat_template: str | None = None
    """``local/`` only: llama.cpp chat template name (e.g. ``gemma``, ``chatml``, ``llama3``).
    None: the template in the model file's metadata; a file without one is refused (name
    one here), except the packaged ``gemma3-270m``, whose template is ``gemma``."""

    @field_validator("api_key_env")
    @classmethod
    def _a_variable_name(cls, name: str | None) -> str | None:
        if name is not None and (not _VARIABLE.match(name) or _KEY_LIKE.match(name)):
            raise ValueError(
                "give the name of the environment variable that holds the key (e.g. "
                "TOGETHER_API_KEY), not the key itself: this value is no variable name or "
                "looks like a key (it is not repeated here)"
            )
        return name

    def resolved_offline(self) -> bool:
        """Offline from the option, else from ``OVERSIGHT_OFFLINE``."""
        if self.offline is not None:
            return self.offline
        return os.environ.get("OVERSIGHT_OFFLINE", "").strip().lower() in {"1", "true", "yes"}


class EndpointArgs(TypedDict, total=False):
    """The keyword options of ``endpoint(spec, **options)``, for type checkers: the same
    names as :class:`EndpointOptions`, which documents and validates them (a test keeps the
    two lists equal). Each takes what a user may pass (a ``str`` key, a ``dict`` price)."""

    api_key: str | SecretStr | None
    api_key_env: str | None
    base_url: str | None
    timeout: float
    max_retries: int
    max_retry_time: float
    retry_backoff: float
    retry_backoff_max: float
    validation_retries: int
    judge_attempts: int
    prompt_cache: bool
    cache_breakpoint_tokens: int
    batch: bool
    batch_window: float
    batch_poll_interval: float
    max_concurrency: int | None
    rpm: float | None
    tpm: float | None
    cache: bool | str | Path | None
    offline: bool | None
    pricing: Price | str | dict[str, float] | None
    structured: Literal["native", "tool", "json_object", "prompt"]
    stream: bool | None
    transport: Literal["aiohttp", "httpx"]
    extra_body: dict[str, Any] | None
    llama_cpp: bool | None
    replies: list[Any] | Callable[..., Any] | Callable[..., Awaitable[Any]] | None
    ctx_size: int | None
    parallel: int
    threads: int | None
    chat_template: str | None


def parse_options(spec: str, options: dict[str, Any]) -> EndpointOptions:
    """Check ``options`` for ``spec``; a wrong name or value is a ConfigError saying which."""
    unknown = sorted(set(options) - set(EndpointOptions.model_fields))
    if unknown:
        known = ", ".join(sorted(EndpointOptions.model_fields))
        raise ConfigError(f"endpoint {spec!r}: unknown option(s) {unknown}; options are: {known}")
    try:
        return EndpointOptions(**options)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors()
        )
        raise ConfigError(f"endpoint {spec!r}: bad option value: {problems}") from None
