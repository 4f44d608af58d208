"""The endpoint the runner hands to protocols and judges: each call asked of the
:class:`~oversight.runner._meter.Meter` before it starts and recorded after it, its samples
drawn apart per repeat (see :mod:`oversight.runner._meter`)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from oversight.endpoints import Completion, Endpoint, Reply, Request
from oversight.endpoints._limits import most_usage
from transcripts import Call
from transcripts.errors import EndpointError

if TYPE_CHECKING:
    from oversight.runner._meter import Meter

_DRAWN_APART: ContextVar[int] = ContextVar("oversight_drawn_apart", default=0)


@contextlib.contextmanager
def drawn_apart(offset: int) -> Iterator[None]:
    """Move the ``sample_index`` of every metered call made inside (in this task and the
    tasks it starts) on by ``offset``: for calls made through an interface the runner does
    not own, such as a judge's verdict on one repeat of an item (the judges are built once,
    for every item)."""
    token = _DRAWN_APART.set(offset)
    try:
        yield
    finally:
        _DRAWN_APART.reset(token)


class MeteredEndpoint(Endpoint):
    """An endpoint that asks the meter before each call and reports each call after it.

    ``sample_offset`` (and a :func:`drawn_apart` scope's offset) is added to every
    ``sample_index`` and to a ``seed`` (a judge's), so repeats of an item are cached and
    drawn apart (independent samples) instead of replaying each other.
    """

    def __init__(self, inner: Endpoint, meter: Meter, *, sample_offset: int = 0) -> None:
        # Not calling Endpoint.__init__: this wraps a finished endpoint and owns nothing.
        self.inner = inner
        self.spec = inner.spec
        self.meter = meter
        self.sample_offset = sample_offset

    def __repr__(self) -> str:
        return f"MeteredEndpoint({self.inner!r})"

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def complete(self, messages: Any, **options: Any) -> Completion:  # type: ignore[override]
        """The inner endpoint's ``complete``, unless a cap has been reached."""
        self.meter.check()
        offset = self.sample_offset + _DRAWN_APART.get()
        if offset:
            options["sample_index"] = options.get("sample_index", 0) + offset
            if options.get("seed") is not None:  # a provider's draw is its seed's: move it too
                options["seed"] += offset
        sent: list[str] = []

        def sending(key: str) -> None:
            sent.append(self.meter.sending(self.spec, key))

        try:
            completion = await self.inner.complete(messages, on_send=sending, **options)
        except EndpointError as err:
            sent_id = sent[0] if sent else None
            for i, call in enumerate(err.calls):  # replies paid for before it failed for good
                bound = self._bound(call, i, messages, options)
                self.meter.record(call, sent_id=sent_id, bound=bound)
            if sent_id is not None and not any(not c.cached for c in err.calls):
                self.meter.unpaid(sent_id)
            raise
        for i, call in enumerate(completion.paid or [completion.call]):  # one per paid reply
            bound = self._bound(call, i, messages, options)
            self.meter.record(call, sent_id=sent[0] if sent else None, bound=bound)
        return completion

    def _bound(
        self, call: Call, reasks: int, messages: Any, options: dict[str, Any]
    ) -> float | None:
        """The most ``call`` (the reply to the ``reasks``-th re-ask, 0 for the request as
        asked) can have cost, for a paid reply that carried no token counts (else None: its
        cost is known, or its price is not)."""
        if call.cached or call.cost_usd is not None or call.usage.reported:
            return None
        return self.inner.cost_bound(messages, reasks=reasks, batched=call.batched, **options)

    async def aclose(self) -> None:
        """Nothing: the runner closes the endpoints it made."""


def cached_bound(endpoint: Endpoint, key: str, hit: Reply) -> float | None:
    """For a reply ``hit`` the cache holds under ``key`` whose spend line a kill cut off:
    the most it can have cost when it carried no token counts (its request as the cache
    holds it, counted as :meth:`Endpoint.cost_bound` counts one), else None."""
    cache = endpoint.cache
    stored = None if hit.usage.reported or cache is None else cache.request_of(key)
    if stored is None:
        return None
    try:
        asked = Request.model_validate(json.loads(stored)["request"])
    except (ValueError, KeyError, TypeError):  # a row of an older key's making: unknown
        return None
    return endpoint.cost_of(most_usage(asked), request_hash=key)
