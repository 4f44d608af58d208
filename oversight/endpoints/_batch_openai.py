"""The OpenAI Batch API: a JSONL file of Chat Completions requests, uploaded, run as one
batch, read back from its output and error files."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from openai.types.chat import ChatCompletion

from oversight.endpoints._batch_api import CLOCK_SKEW_S, BatchApi, ItemCancelled, ItemError
from oversight.endpoints._batch_ledger import Intent, key_part
from oversight.endpoints._types import Reply, Request
from transcripts.errors import ProviderError

if TYPE_CHECKING:
    from oversight.endpoints._openai import OpenAIBackend

__all__ = ["OpenAIBatch"]

_ENDED = {"completed", "failed", "expired", "cancelled"}
_URL = "/v1/chat/completions"
_UNRUN = {"batch_expired": "expired", "batch_cancelled": "cancelled", "batch_canceled": "cancelled"}
"""Error codes of a line the batch never ran, and why."""


class OpenAIBatch(BatchApi):
    """Batches of one OpenAI backend's requests."""

    def __init__(self, backend: OpenAIBackend) -> None:
        self.backend = backend

    async def submit(self, items: list[tuple[str, Request]], *, submission: str) -> str:
        client = await self.backend.client()
        lines = [
            json.dumps(
                {
                    "custom_id": key,
                    "method": "POST",
                    "url": _URL,
                    "body": {
                        **self.backend.params(request),
                        **(self.backend.options.extra_body or {}),
                    },
                }
            )
            for key, request in items
        ]
        upload = await client.files.create(
            file=("oversight-batch.jsonl", ("\n".join(lines) + "\n").encode()), purpose="batch"
        )
        batch = await client.batches.create(
            input_file_id=upload.id,
            endpoint="/v1/chat/completions",
            completion_window="24h",
            metadata={"source": "oversight", "oversight_submission": submission},
        )
        return batch.id

    async def find(self, intent: Intent) -> str | None:
        client = await self.backend.client()
        async for batch in client.batches.list(limit=100):  # newest first
            if (batch.metadata or {}).get("oversight_submission") == intent.submission:
                return batch.id
            if batch.created_at < intent.at - CLOCK_SKEW_S:
                break  # older than the intent: it was never created
        return None

    async def ended(self, batch_id: str) -> bool:
        client = await self.backend.client()
        batch = await client.batches.retrieve(batch_id)
        return batch.status in _ENDED

    async def results(
        self, batch_id: str, custom_ids: frozenset[str]
    ) -> dict[str, Reply | ProviderError]:
        client = await self.backend.client()
        batch = await client.batches.retrieve(batch_id)
        out: dict[str, Reply | ProviderError] = {}
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            content = await client.files.content(file_id)
            for line in content.text.splitlines():
                if line.strip():
                    key, result = self._line(json.loads(line), batch.status)
                    out[key] = result
        if batch.status in ("cancelled", "expired"):
            # OpenAI's spec gives the lines a batch never ran the error codes batch_cancelled
            # and batch_expired, but its guide promises only the partial results: a request
            # in neither file never ran either. The ledger knows which requests it carries.
            listed = {key_part(c) for c in out}
            for custom in custom_ids:
                if key_part(custom) not in listed:
                    out[custom] = _unrun(batch.status, "")
        return out

    def _line(self, data: dict[str, Any], status: str) -> tuple[str, Reply | ProviderError]:
        key = str(data.get("custom_id"))
        response = data.get("response") or {}
        code = int(response.get("status_code") or 0)
        if code == 200:
            return key, self.backend.read(ChatCompletion.model_validate(response["body"]))
        error = data.get("error") or (response.get("body") or {}).get("error") or {}
        message = str(error.get("message") or "")
        unrun = _UNRUN.get(str(error.get("code"))) or (
            status if not code and status in ("expired", "cancelled") else None
        )
        if unrun is not None:
            return key, _unrun(unrun, message)
        return key, ItemError(message or f"batch {status}", status_code=code or 500)


def _unrun(status: str, message: str) -> ProviderError:
    """A request the batch never ran: it expired (retried in a later batch) or was
    cancelled (not retried in this session)."""
    said = f": {message}" if message else ""
    if status == "cancelled":
        return ItemCancelled(f"the batch was cancelled before this request ran{said}")
    return ItemError(f"batch expired before this request ran{said}", status_code=408)
