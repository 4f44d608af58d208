"""``openai/<model>``: the Chat Completions API, on OpenAI or any compatible server.

The SDK's own retries are off (``max_retries=0``): the endpoint's retry layer is the only
one. Structured output goes as ``response_format`` json_schema (strict when the schema
allows it); servers without it can use ``structured="json_object"`` or ``"prompt"``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Mapping
from typing import Any

import httpx2
import openai
from openai._types import RequestOptions
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from oversight.endpoints._batch_api import BatchApi
from oversight.endpoints._llama_cpp import forget_slots, is_llama_cpp, lenient_schema, server_slots
from oversight.endpoints._options import EndpointOptions
from oversight.endpoints._pricing import openai_host
from oversight.endpoints._retry import Failure, status_failure
from oversight.endpoints._sdk import SdkBackend
from oversight.endpoints._secrets import public_url
from oversight.endpoints._structured import closed_schema, is_strict, schema_instruction
from oversight.endpoints._types import Reply, Request, TokenLogprob, normal_finish
from transcripts import Usage
from transcripts.errors import ConfigError, ProviderError

__all__ = ["OpenAIBackend"]

log = logging.getLogger("oversight.endpoints")

OPENAI_URL = "https://api.openai.com/v1"

# OpenAI's 429 for an account out of credit or past its monthly budget: no wait clears it.
_FINAL_429_CODES = frozenset({"insufficient_quota"})
# OpenAI's reasoning models take only the default temperature, and no logprobs (a 400 or
# 403 otherwise); gpt-5.1 and later take both when reasoning_effort is "none", their default
# (not their -pro and -codex models, which always reason), and gpt-5-chat-latest always.
_REASONING = re.compile(r"^(o\d|gpt-5|gpt-6)(?!.*-chat)")
_EFFORT_NONE_BY_DEFAULT = re.compile(r"^gpt-5\.\d(?!.*-(pro|codex))")


class OpenAIBackend(SdkBackend[openai.AsyncOpenAI]):
    """Sends requests to an OpenAI-compatible Chat Completions server."""

    provider = "openai"
    default_url = OPENAI_URL
    url_variable = "OPENAI_BASE_URL"
    key_variable = "OPENAI_API_KEY"
    timeout_errors = (openai.APITimeoutError,)
    connection_errors = (openai.APIConnectionError,)
    malformed_errors = (openai.APIResponseValidationError,)
    aiohttp_client = openai.DefaultAioHttpClient
    context_hint = (
        "shorten the prompt, or start llama-server with a larger --ctx-size (-c), which "
        "is shared out among its -np slots"
    )
    """What to do about llama.cpp's ``exceed_context_size_error`` (a prompt longer than a
    slot's context; its own message says only "try increasing it")."""

    def __init__(self, model: str, options: EndpointOptions) -> None:
        if options.structured == "tool":
            raise ConfigError(
                f"openai/{model}: structured='tool' is for Anthropic; use 'native' "
                "(response_format json_schema), 'json_object' or 'prompt'"
            )
        super().__init__(model, options)
        effort = (options.extra_body or {}).get("reasoning_effort")
        self._reasoning = (
            _is_openai(self.server)
            and bool(_REASONING.match(model))
            and not (_EFFORT_NONE_BY_DEFAULT.match(model) and effort in (None, "none"))
        )
        self._said: set[str] = set()
        self.stream = bool(options.stream)
        self.llama_cpp: bool | None = False if _is_openai(self.server) else options.llama_cpp
        """Whether the server is llama.cpp's; None until a reply says (its ``Server``)."""
        self._scout: asyncio.Future[None] | None = None
        """Done once the first request's reply (or failure) is in: until then the requests
        after it wait, so that a llama.cpp server's first wave is held to its slots too."""
        self._scout_task: asyncio.Task[Any] | None = None
        """The task whose request is that first one."""

    async def server_slots(self) -> int | None:
        if self.llama_cpp is None and self.options.max_concurrency is None:
            await self._first_reply()
        if not self.llama_cpp:
            return None
        return await server_slots(self.server, self.client)

    async def _first_reply(self) -> None:
        """Let the first request go; hold those after it until its reply says what the
        server is (one request's time, once; nothing extra is sent). Should it not connect
        (a server not up yet), or not be sent (cancelled while it waited for a slot, say),
        the next request goes in its place, the others still held."""
        loop = asyncio.get_running_loop()
        while self.llama_cpp is None:
            scout = self._scout
            if scout is None or scout.get_loop() is not loop:
                self._scout = scout = loop.create_future()
                task = self._scout_task = asyncio.current_task()
                if task is not None:  # should it end without sending, the others go
                    task.add_done_callback(functools.partial(_release, scout))
                return
            if scout.done():
                return
            await asyncio.wait([scout])  # not cancelled with a waiter

    def _scouted(self, *, again: bool = False) -> None:
        """The first request is answered (or failed): the others go; or, ``again`` (it did
        not connect), the next of them goes in its place."""
        scout = self._scout
        if again and self.llama_cpp is None and self._scout_task is asyncio.current_task():
            self._scout = None
        _release(scout)

    def unsent(self) -> None:
        scout = self._scout
        if scout is not None and not scout.done() and self._scout_task is asyncio.current_task():
            self._scouted(again=True)  # the first request was not sent: the next goes instead

    def _heard_from(self, headers: Mapping[str, str], *, answered: bool = True) -> None:
        """Learn from a response's headers whether the server is llama.cpp's (from an error,
        only that it is: a proxy's error in front of one does not name it)."""
        if self.llama_cpp is None and (answered or is_llama_cpp(headers)):
            self.llama_cpp = is_llama_cpp(headers)
            if self.llama_cpp:
                log.info(
                    "%s/%s: the server at %s is llama.cpp's: schemas go lenient, and the "
                    "requests in flight are its slots unless max_concurrency is set",
                    self.provider,
                    self.model,
                    public_url(self.server),
                )
        if self.llama_cpp is not None:
            self._scouted()

    async def send(self, request: Request) -> Reply:
        try:
            return await self._post(request)
        except openai.APIConnectionError as err:  # a timeout too: a server restarted,
            forget_slots(self.server)  # perhaps with another -np: they are asked again
            self._scouted(again=not self.timed_out(err))
            raise
        finally:
            self._scouted()  # whatever became of the first request, the others go

    async def _post(self, request: Request) -> Reply:
        client = await self.client()
        params = self.params(request)
        if self.options.extra_body:
            params.update(self.options.extra_body)
        # Posted as it is: ``chat.completions.create`` would walk the whole body again to
        # "transform" it (nothing to change in a plain JSON body; ~10% of the client's CPU).
        options: RequestOptions = {"security": {"bearer_auth": True}}
        try:
            if not self.stream:
                response = await client.post(
                    "/chat/completions", cast_to=httpx2.Response, body=params, options=options
                )
                self._heard_from(response.headers)
                return self.read(_body(response))
            params["stream"] = True
            params["stream_options"] = {"include_usage": True}
            stream = await client.post(
                "/chat/completions",
                cast_to=ChatCompletion,
                body=params,
                options=options,
                stream=True,
                stream_cls=openai.AsyncStream[ChatCompletionChunk],
            )
        except openai.APIStatusError as err:
            self._heard_from(err.response.headers, answered=False)
            raise
        self._heard_from(stream.response.headers)
        return await self.read_stream(stream)

    def batch_api(self) -> BatchApi:
        from oversight.endpoints._batch_openai import OpenAIBatch

        return OpenAIBatch(self)

    def key_required(self) -> bool:
        # A compatible server of one's own (vLLM, llama.cpp, Ollama) usually wants no key.
        return _is_openai(self.server)

    async def connect(self) -> openai.AsyncOpenAI:
        key = self.api_key(required=self.key_required())
        return openai.AsyncOpenAI(
            api_key=key,
            base_url=self.server,
            max_retries=0,
            timeout=self.options.timeout,
            http_client=self.http_client(),
        )

    def params(self, request: Request) -> dict[str, Any]:
        """The Chat Completions request body for ``request``."""
        system = request.system
        params: dict[str, Any] = {"model": self.model}
        if not self._reasoning:
            params["temperature"] = request.temperature
        elif request.temperature != 1.0:
            self._say_once("temperature", f"temperature={request.temperature}")
        # OpenAI's reasoning models only take max_completion_tokens; other servers know
        # max_tokens best.
        limit_name = "max_completion_tokens" if _is_openai(self.server) else "max_tokens"
        params[limit_name] = request.max_tokens
        if request.seed is not None:
            params["seed"] = request.seed
        if request.logprobs and self._reasoning:
            self._say_once("logprobs", "logprobs")
        elif request.logprobs:
            params["logprobs"] = True
            if request.top_logprobs:
                params["top_logprobs"] = request.top_logprobs
        schema = request.schema_
        if schema is not None:
            mode = self.options.structured
            if mode == "native":
                closed = closed_schema(schema)
                params["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {
                        "name": request.schema_name,
                        "schema": closed,
                        "strict": is_strict(closed),
                    },
                }
                if self.llama_cpp:
                    lenient_schema(params["response_format"])
            else:
                if mode == "json_object":
                    params["response_format"] = {"type": "json_object"}
                system = "\n\n".join(filter(None, [system, schema_instruction(schema)]))
        messages = [{"role": "system", "content": system}] if system else []
        messages += [{"role": m.role, "content": m.content} for m in request.messages]
        params["messages"] = messages
        return params

    def _say_once(self, flag: str, what: str) -> None:
        """Log, once per endpoint, that ``what`` is not sent to this reasoning model."""
        if flag not in self._said:
            self._said.add(flag)
            log.info(
                "openai/%s is a reasoning model, which refuses %s: it is not sent (it "
                "still keeps cache entries apart)",
                self.model,
                what,
            )

    def read(self, response: object) -> Reply:
        """Our Reply from a Chat Completions response: its JSON body as the server sent it
        (the SDK's typed objects cost more CPU to build than the rest of the call), or the
        SDK's ChatCompletion (a batch's results). Anything else is a malformed reply."""
        body = response.model_dump() if isinstance(response, ChatCompletion) else response
        choices = body.get("choices") if isinstance(body, Mapping) else None
        if not isinstance(body, Mapping) or not choices:
            said = "no choices" if isinstance(body, Mapping) else "a body that is not a JSON object"
            raise ProviderError(
                f"{self.provider}/{self.model}: the server answered with {said}",
                provider_message="empty choices" if isinstance(body, Mapping) else str(body)[:200],
            )
        choice = choices[0]
        message = choice.get("message") or {}
        refusal = message.get("refusal")
        text = message.get("content") or refusal or ""
        content = (choice.get("logprobs") or {}).get("content")
        logprobs = None if content is None else [_token_logprob(item) for item in content]
        # A refusal comes with finish_reason "stop": it is recorded as the refusal it is.
        finish = normal_finish("refusal" if refusal else choice.get("finish_reason"))
        return Reply(
            text=text, usage=_usage(body.get("usage")), logprobs=logprobs, finish_reason=finish
        )

    async def read_stream(self, stream: openai.AsyncStream[ChatCompletionChunk]) -> Reply:
        """Our Reply from a streamed completion. The timeout then bounds the wait for each
        next chunk, not the whole generation, so a generation that progresses is never cut
        off and started again. A stream that ends without a finish reason was dropped."""
        text: list[str] = []
        refusal: list[str] = []
        logprobs: list[TokenLogprob] = []
        finish: str | None = None
        usage = Usage(reported=False)  # until a chunk carries it (stream_options)
        async for chunk in stream:
            if chunk.usage is not None:
                usage = _usage(chunk.usage.model_dump())
            for choice in chunk.choices[:1]:
                if choice.delta.content:
                    text.append(choice.delta.content)
                if choice.delta.refusal:
                    refusal.append(choice.delta.refusal)
                if choice.logprobs is not None and choice.logprobs.content:
                    logprobs += [_token_logprob(i.model_dump()) for i in choice.logprobs.content]
                finish = choice.finish_reason or finish
        if finish is None:
            raise openai.APIConnectionError(
                message="the stream ended before a finish reason", request=stream.response.request
            )
        return Reply(
            text="".join(text) or "".join(refusal),
            usage=usage,
            logprobs=logprobs or None,
            finish_reason=normal_finish("refusal" if refusal else finish),
        )

    def classify(self, error: BaseException) -> Failure | None:
        if isinstance(error, openai.APIStatusError):
            body = error.body
            said = body.get("message") if isinstance(body, dict) else None
            if isinstance(body, dict) and body.get("type") == "exceed_context_size_error":
                said = f"{said or error.message}; {self.context_hint}"
            if error.status_code == 429 and error.code in _FINAL_429_CODES:
                return Failure(
                    False,
                    "HTTP 429 quota exhausted",
                    429,
                    error.request_id,
                    str(said or error.message),
                )
            return status_failure(
                error.status_code,
                str(said or error.message),
                request_id=error.request_id,
                headers=error.response.headers,
            )
        failure = super().classify(error)  # timeouts, connections, malformed bodies
        if failure is None and isinstance(error, openai.APIError):  # an error event in a stream
            return Failure(True, "error inside the response", provider_message=error.message)
        return failure


def _release(scout: asyncio.Future[None] | None, _task: object = None) -> None:
    """Let the requests waiting on ``scout`` go (a task's done callback, too)."""
    if scout is not None and not scout.done():
        scout.set_result(None)


def _body(response: httpx2.Response) -> object:
    """A response's body as the SDK reads one for ``cast_to=object``: parsed JSON, or the
    text of a body that is not JSON."""
    content_type = response.headers.get("content-type", "*").split(";")[0]
    return response.json() if content_type.endswith("json") else response.text


def _is_openai(server: str) -> bool:
    """Whether ``server`` is OpenAI's own API (a data-residency host included), not a
    compatible server."""
    return openai_host(server) is not None


def _usage(usage: Mapping[str, Any] | None) -> Usage:
    """Our Usage from a response's ``usage``. A reply without one (some compatible servers
    omit it, or leave it out of a stream) is not reported: its cost is unknown, not $0."""
    if not usage or usage.get("prompt_tokens") is None or usage.get("completion_tokens") is None:
        return Usage(reported=False)  # a count missing: a price times it would under-count
    details = usage.get("prompt_tokens_details") or {}
    return Usage(
        input_tokens=usage.get("prompt_tokens") or 0,
        output_tokens=usage.get("completion_tokens") or 0,
        cached_tokens=details.get("cached_tokens") or 0,
    )


def _token_logprob(item: Mapping[str, Any]) -> TokenLogprob:
    return TokenLogprob(
        token=item["token"],
        logprob=item["logprob"],
        top={alt["token"]: alt["logprob"] for alt in item.get("top_logprobs") or []},
    )
