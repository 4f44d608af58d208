"""What a llama.cpp server needs that another OpenAI-compatible server does not, for
``local/`` and for ``openai/`` pointed at one's own ``llama-server``: telling one apart,
its slots, and a JSON schema it enforces.

llama.cpp names itself in every response (``Server: llama.cpp``), so an ``openai/``
endpoint knows one from its first reply (or from ``llama_cpp=True``, before any) at no
extra request; the requests after its first wait for that reply. Its slots come from
``GET /props`` (beside ``/v1``: ``total_slots``), asked once per server and process, and
again after a request to it failed to connect or timed out; only of a llama.cpp server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import openai
from openai._types import RequestOptions

__all__ = ["forget_slots", "is_llama_cpp", "lenient_schema", "server_slots"]

_slots: dict[str, int | None] = {}
"""Each llama.cpp server's slots, by its base URL, for this process (None: it did not say)."""
_asking: dict[tuple[str, asyncio.AbstractEventLoop], asyncio.Task[int | None]] = {}
"""The question in flight to each server, per event loop: callers at once share it."""


def is_llama_cpp(headers: Mapping[str, str]) -> bool:
    """Whether a response with ``headers`` came from llama.cpp's server."""
    return headers.get("server", "").lower() == "llama.cpp"


async def server_slots(
    server: str, client: Callable[[], Awaitable[openai.AsyncOpenAI]]
) -> int | None:
    """The requests the llama.cpp server at ``server`` (its base URL) decodes at once, its
    ``-np``; the rest wait in its queue. Asked once per process through a client from
    ``client``; None where ``/props`` does not say (a proxy that passes only ``/v1``). A
    failed connection or a timeout raises the SDK's error: the call is retried, this too."""
    if server in _slots:
        return _slots[server]
    key = (server, asyncio.get_running_loop())
    task = _asking.get(key)
    if task is None:
        task = _asking[key] = asyncio.ensure_future(_ask(server, client))
        task.add_done_callback(lambda _: _asking.pop(key, None))
    slots = await asyncio.shield(task)
    _slots[server] = slots
    return slots


def forget_slots(server: str) -> None:
    """Ask the slots of ``server`` again next time: a request to it failed to connect or
    timed out, so it may have been restarted with another ``-np`` (or be queueing requests
    beyond fewer slots than we hold to)."""
    _slots.pop(server, None)


async def _ask(server: str, client: Callable[[], Awaitable[openai.AsyncOpenAI]]) -> int | None:
    sdk = await client()
    options: RequestOptions = {"security": {"bearer_auth": True}}
    try:
        props = await sdk.get(
            f"{server.removesuffix('/v1')}/props", cast_to=object, options=options
        )
    except openai.APIStatusError:
        return None
    slots = props.get("total_slots") if isinstance(props, dict) else None
    valid = isinstance(slots, int) and not isinstance(slots, bool) and slots > 0
    return slots if valid else None


def lenient_schema(response_format: dict[str, Any]) -> None:
    """Mark, in place, a ``json_schema`` response format lenient for llama.cpp.

    llama.cpp compiles a schema with llguidance (xllamacpp's wheels, and builds with
    ``LLAMA_LLGUIDANCE``), which refuses a schema with a keyword it cannot enforce
    (``uniqueItems``, ``not``, ``if``, a ``oneOf`` it cannot prove disjoint, an unknown
    ``format``), and the server then generates unconstrained, with no error. Lenient, it
    enforces the rest; the reply is still validated against the whole schema, and
    re-asked.

    A build without llguidance compiles the schema to a GBNF grammar, reading only the
    keywords it knows (``type``, ``properties``, ``items``, ``enum``...): the key is ignored,
    as are the keywords it cannot enforce. Except in the empty schema ``{}`` (any JSON),
    which it tells by having no key at all: with this one it would be refused ("Unrecognized
    schema"), so ``{}`` is left as it is (nothing in it to be lenient about).
    """
    if response_format.get("type") == "json_schema":
        wrapper = response_format["json_schema"]
        if wrapper["schema"]:
            wrapper["schema"] = {"x-guidance": {"lenient": True}, **wrapper["schema"]}
