"""What a provider's batch backend implements (:class:`BatchApi`), and the errors a request
of a batch fails with when the batch gave it no reply (:func:`ItemError`,
:class:`ItemCancelled`). :mod:`oversight.endpoints._batch` gathers requests into batches and
answers them; ``_batch_openai`` and ``_batch_anthropic`` speak each provider's batch API."""

from __future__ import annotations

import abc

from oversight.endpoints._batch_ledger import Intent
from oversight.endpoints._types import Reply, Request
from transcripts.errors import ProviderError

__all__ = ["CLOCK_SKEW_S", "BatchApi", "ItemCancelled", "ItemError"]

CLOCK_SKEW_S = 600.0
"""Seconds a provider's clock may lag ours when its batches are looked up by creation time."""


def ItemError(message: str, *, status_code: int) -> ProviderError:
    """One request of a batch that got no reply, as the provider error the retry layer reads
    (408 for an expired batch and 5xx are retried in a later batch; other 4xx are not)."""
    return ProviderError(message, status_code=status_code, provider_message=message)


class ItemCancelled(ProviderError):
    """A request its batch never ran because the batch was cancelled at the provider: not a
    failure to retry at once (a person stopped the batch), so it carries no status."""


class BatchApi(abc.ABC):
    """A provider's batch endpoints, as one backend speaks them."""

    @abc.abstractmethod
    async def submit(self, items: list[tuple[str, Request]], *, submission: str) -> str:
        """Send the requests (custom id, request) as one batch labelled ``submission``
        where the provider keeps labels; return the batch id."""

    async def find(self, intent: Intent) -> str | None:
        """The id of the batch labelled ``intent.submission``, where the provider keeps
        labels (None: none, or the provider keeps no labels)."""
        return None

    async def candidates(self, intent: Intent) -> list[str]:
        """Ids of batches that may be ``intent``'s, for a provider that keeps no labels:
        created since the intent (less :data:`CLOCK_SKEW_S`), with as many requests."""
        return []

    @abc.abstractmethod
    async def ended(self, batch_id: str) -> bool:
        """Whether the batch has finished (completed, failed, expired or cancelled)."""

    @abc.abstractmethod
    async def results(
        self, batch_id: str, custom_ids: frozenset[str]
    ) -> dict[str, Reply | ProviderError]:
        """Each custom id's reply, or why it has none (ids missing had no result).
        ``custom_ids``: the requests the batch carries, per the ledger (empty while a
        candidate batch of a provider without labels is checked), so the requests a
        cancelled or expired batch never ran are known even where its files leave them out."""
