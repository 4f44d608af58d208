"""A fake llama.cpp server: the fake OpenAI server saying what llama.cpp says of itself
(the ``Server: llama.cpp`` header on every response, ``GET /props`` with ``total_slots``)."""

from __future__ import annotations

from typing import Any

from oversight.testing import FakeOpenAIServer
from oversight.testing._http import HttpRequest, Responder


class _NamedResponder(Responder):
    """Every response says ``Server: llama.cpp``, as llama.cpp's do."""

    async def send(
        self,
        status: int,
        body: bytes,
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        named = {**(headers or {}), "Server": "llama.cpp"}
        await super().send(status, body, content_type=content_type, headers=named)


class FakeLlamaCpp(FakeOpenAIServer):
    """The fake OpenAI server speaking as llama.cpp's, with ``slots`` slots."""

    def __init__(self, slots: int, **options: Any) -> None:
        super().__init__(**options)
        self.slots = slots

    async def answer(self, record: Any, scripted: Any, out: Responder) -> None:
        await super().answer(record, scripted, _NamedResponder(out.writer))

    async def route(self, http: HttpRequest, out: Responder) -> bool:
        if http.method == "GET" and http.path == "/props":
            await _NamedResponder(out.writer).send_json(200, {"total_slots": self.slots})
            return True
        return await super().route(http, out)
