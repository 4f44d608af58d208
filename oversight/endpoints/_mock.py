"""``mock/<name>`` endpoints: scripted replies from Python, for tests and dry runs.

With ``replies=`` (a list, or a sync or async function of the :class:`Request`), the mock
answers exactly as scripted. Without, it invents a deterministic answer for a dry run:
free text derived from a hash of the request, or, for a schema, a schema-valid object.
Either way it reports token usage, so cost estimates work.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from oversight.endpoints._base import Backend
from oversight.endpoints._jsonschema import example
from oversight.endpoints._types import Reply, Request
from transcripts import Usage
from transcripts.errors import ConfigError

__all__ = ["MockBackend", "MockReply", "dry_run_reply"]

MockReply = str | dict[str, Any] | Reply
ReplyFn = Callable[[Request], MockReply | Awaitable[MockReply]]

# Filler for invented free text (words a debater might use).
_WORDS = "answer balance because evidence key likely more option other passage reading".split()  # noqa: SIM905


class MockBackend(Backend):
    """Replies from a list (in order) or from a sync or async function of the request.

    With scripted replies, every request is kept in ``requests`` (unless ``keep_requests``
    is switched off), so tests and the dry run's estimate can check who saw what. With no
    replies at all, answers are invented (see :func:`dry_run_reply`) and nothing is kept
    per call: a dry run of 100,000 items holds no memory per request.
    """

    provider = "mock"
    default_concurrency = None
    cache_by_default = False
    free = True

    def __init__(self, name: str, replies: Sequence[MockReply] | ReplyFn | None = None) -> None:
        self.model = name
        self.requests: list[Request] = []
        self.keep_requests = True
        """Whether ``requests`` keeps each request (off for a real run on mock endpoints:
        a request carries its prompt, hidden text included, so memory would grow per call)."""
        self._replies = replies
        self._next = 0

    async def send(self, request: Request) -> Reply:
        if self._replies is None:
            return dry_run_reply(self.model, request)
        if self.keep_requests:
            self.requests.append(request)
        reply = await self._reply(request, self._replies)
        if isinstance(reply, Reply):
            return reply
        text = reply if isinstance(reply, str) else json.dumps(reply)
        words = sum(len(m.content.split()) for m in request.messages) + len(
            (request.system or "").split()
        )
        return Reply(
            text=text,
            usage=Usage(input_tokens=words, output_tokens=len(text.split())),
            finish_reason="stop",
        )

    async def _reply(self, request: Request, replies: Sequence[MockReply] | ReplyFn) -> MockReply:
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


def dry_run_reply(name: str, request: Request) -> Reply:
    """A deterministic stand-in answer: schema-valid JSON for a schema, else free text about
    half of ``max_tokens`` long (naming no model, so a person judging a dry run stays blind);
    usage counts about 4 characters per token."""
    digest = hashlib.sha256(request.answer_json().encode()).digest()
    seed = int.from_bytes(digest[:8], "big")
    if request.schema_ is not None:
        text = json.dumps(example(request.schema_, seed=seed))
    else:
        rng = random.Random(seed)
        n_words = max(1, min(request.max_tokens // 2, 600) * 3 // 4)
        body = " ".join(rng.choice(_WORDS) for _ in range(n_words))
        # No model name in the text: it reaches people's screens in blinded sessions.
        text = f"[draft {digest.hex()[:8]}] {body}"
    prompt_chars = sum(len(m.content) for m in request.messages) + len(request.system or "")
    return Reply(
        text=text,
        usage=Usage(input_tokens=max(1, prompt_chars // 4), output_tokens=max(1, len(text) // 4)),
        finish_reason="stop",
    )
