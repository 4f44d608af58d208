"""``mock/<name>`` endpoints: scripted replies from Python, for tests and dry runs."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from oversight.endpoints._base import Backend, Reply
from oversight.endpoints._types import Request
from transcripts import Usage
from transcripts.errors import ConfigError

__all__ = ["MockBackend", "MockReply"]

MockReply = str | dict[str, Any] | Reply
ReplyFn = Callable[[Request], MockReply | Awaitable[MockReply]]


class MockBackend(Backend):
    """Replies from a list (in order) or from a sync or async function of the request.

    Every request is kept in ``requests``, so tests can check who saw what.
    """

    provider = "mock"

    def __init__(self, name: str, replies: Sequence[MockReply] | ReplyFn | None = None) -> None:
        self.model = name
        self.requests: list[Request] = []
        self._replies = replies
        self._next = 0

    async def send(self, request: Request) -> Reply:
        self.requests.append(request)
        reply = await self._reply(request)
        if isinstance(reply, Reply):
            return reply
        text = reply if isinstance(reply, str) else _json(reply)
        words = sum(len(m.content.split()) for m in request.messages) + len(
            (request.system or "").split()
        )
        return Reply(text=text, usage=Usage(input_tokens=words, output_tokens=len(text.split())))

    async def _reply(self, request: Request) -> MockReply:
        replies = self._replies
        if replies is None:
            raise ConfigError(
                f"mock/{self.model} has no scripted replies: pass replies=[...] or a function"
            )
        if callable(replies):
            result = replies(request)
            if inspect.isawaitable(result):
                result = await result
            return result
        if self._next >= len(replies):
            raise ConfigError(
                f"mock/{self.model} ran out of scripted replies ({len(replies)} given, "
                f"request {self._next + 1} asked); script more replies or use a function"
            )
        reply = replies[self._next]
        self._next += 1
        return reply


def _json(data: dict[str, Any]) -> str:
    import json

    return json.dumps(data)
