"""What an endpoint's calls cost: the price of a reply, the most one can cost, and
whether it can be known at all (the :class:`~oversight.endpoints._base.Endpoint`'s part
that only reads its price and backend)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from oversight.endpoints._backend import Backend, MessageLike, as_messages, schema_dict
from oversight.endpoints._batch import BATCH_DISCOUNT, BatchQueue
from oversight.endpoints._limits import most_usage
from oversight.endpoints._pricing import Price, cost_usd
from oversight.endpoints._structured import longest_reask
from oversight.endpoints._types import Request
from transcripts import Usage

__all__ = ["EndpointCosts"]


class EndpointCosts:
    """The cost methods of an endpoint (mixed into :class:`Endpoint`)."""

    spec: str
    backend: Backend
    price: Price | None
    batch: BatchQueue | None

    def cost_of(self, usage: Usage, *, request_hash: str | None = None) -> float | None:
        """Dollars a reply with ``usage`` costs at this endpoint's price (the batch price
        when the request with cache key ``request_hash`` went through a batch); None if
        unknown."""
        batch = self.batch
        batched = batch is not None and request_hash is not None and batch.carries(request_hash)
        return self._cost(usage, batched=batched)

    @property
    def priced(self) -> bool:
        """Whether what this endpoint's calls cost can be known: it has a price (``pricing``
        or the built-in table), or its backend is free (mock, a local model)."""
        return self._cost(Usage(input_tokens=1, output_tokens=1), batched=False) is not None

    def cost_bound(
        self, messages: Sequence[MessageLike] | str, *, reasks: int = 0, **options: Any
    ) -> float | None:
        """The most a reply to this call (``complete``'s arguments, ``batched`` if it went
        through a batch; its ``reasks``-th re-ask) can cost when it came without token
        counts: the prompt counted here as the tokens-per-minute limit counts it, and all of
        ``max_tokens`` for the reply (hidden reasoning tokens included); None unpriced."""
        max_tokens = options.get("max_tokens", 512)
        asked = Request(
            messages=as_messages(messages),
            system=options.get("system"),
            max_tokens=max_tokens,
            schema=schema_dict(options.get("schema")),
        )
        request = longest_reask(asked, reasks, self.spec)  # its prompt at its longest
        return self._cost(most_usage(request), batched=bool(options.get("batched")))

    def _cost(self, usage: Usage, *, batched: bool) -> float | None:
        if self.price is None and self.backend.free:
            return 0.0
        if not usage.reported:  # no token counts: unknown, never a price times zero
            return None
        cost = cost_usd(self.backend.model, usage, self.price, server=self.backend.server)
        if cost is not None and batched:
            return cost * BATCH_DISCOUNT  # the providers' batch price
        return cost
