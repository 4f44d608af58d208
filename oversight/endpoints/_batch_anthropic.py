"""Anthropic Message Batches: the Messages requests sent as one batch, results read back as
JSON Lines."""

from __future__ import annotations

from typing import TYPE_CHECKING

from oversight.endpoints._batch_api import CLOCK_SKEW_S, BatchApi, ItemCancelled, ItemError
from oversight.endpoints._batch_ledger import Intent
from oversight.endpoints._types import Reply, Request
from transcripts.errors import ProviderError

if TYPE_CHECKING:
    from oversight.endpoints._anthropic import AnthropicBackend

__all__ = ["AnthropicBatch"]

# What an errored request's error type means for retrying it in a later batch.
_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}


class AnthropicBatch(BatchApi):
    """Message Batches of one Anthropic backend's requests."""

    def __init__(self, backend: AnthropicBackend) -> None:
        self.backend = backend

    async def submit(self, items: list[tuple[str, Request]], *, submission: str) -> str:
        client = await self.backend.client()
        extra = self.backend.options.extra_body or {}
        batch = await client.messages.batches.create(
            requests=[
                {"custom_id": key, "params": {**self.backend.params(request), **extra}}  # type: ignore[misc,typeddict-item]
                for key, request in items
            ]
        )
        return batch.id

    async def candidates(self, intent: Intent) -> list[str]:
        """Message Batches carry no label: those created since the intent with as many
        requests (the queue then tells ours by the custom ids of their results)."""
        client = await self.backend.client()
        out = []
        async for batch in client.messages.batches.list(limit=100):  # newest first
            if batch.created_at.timestamp() < intent.at - CLOCK_SKEW_S:
                break
            counts = batch.request_counts
            total = (
                counts.processing
                + counts.succeeded
                + counts.errored
                + counts.canceled
                + counts.expired
            )
            if total == len(intent.keys):
                out.append(batch.id)
        return out

    async def ended(self, batch_id: str) -> bool:
        client = await self.backend.client()
        batch = await client.messages.batches.retrieve(batch_id)
        return batch.processing_status == "ended"

    async def results(
        self, batch_id: str, custom_ids: frozenset[str]
    ) -> dict[str, Reply | ProviderError]:
        # Anthropic lists every request of an ended batch, those it never ran too.
        client = await self.backend.client()
        out: dict[str, Reply | ProviderError] = {}
        async for entry in await client.messages.batches.results(batch_id):
            result = entry.result
            if result.type == "succeeded":
                out[entry.custom_id] = self.backend._read_message(result.message.model_dump())
            elif result.type == "errored":
                error = result.error.error
                out[entry.custom_id] = ItemError(
                    error.message, status_code=_STATUS.get(error.type, 500)
                )
            elif result.type == "expired":
                out[entry.custom_id] = ItemError(
                    "batch expired before this request ran", status_code=408
                )
            else:  # canceled: a person cancelled the batch before this request ran
                out[entry.custom_id] = ItemCancelled(
                    "the batch was cancelled before this request ran"
                )
        return out
