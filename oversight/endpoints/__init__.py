"""Talking to models: providers, the retry layer, limits, the response cache, usage and cost.

Layer 2: imports :mod:`transcripts` only. The provider SDKs are imported on first use of
their provider, so ``import oversight.endpoints`` stays cheap.
"""

from __future__ import annotations

from oversight.endpoints._base import Backend, Endpoint, MessageLike
from oversight.endpoints._batch import BATCH_DISCOUNT, batchable_calls
from oversight.endpoints._factory import endpoint, option_problems
from oversight.endpoints._mock import MockBackend, MockReply, dry_run_reply
from oversight.endpoints._options import EndpointArgs, EndpointOptions
from oversight.endpoints._pricing import PRICES_AS_OF, Price, cost_usd, lookup_price, set_price
from oversight.endpoints._structured import render_correction, strict_object
from oversight.endpoints._types import Completion, Message, Reply, Request, TokenLogprob

__all__ = [
    "BATCH_DISCOUNT",
    "PRICES_AS_OF",
    "Backend",
    "Completion",
    "Endpoint",
    "EndpointArgs",
    "EndpointOptions",
    "Message",
    "MessageLike",
    "MockBackend",
    "MockReply",
    "Price",
    "Reply",
    "Request",
    "TokenLogprob",
    "batchable_calls",
    "cost_usd",
    "dry_run_reply",
    "endpoint",
    "lookup_price",
    "option_problems",
    "render_correction",
    "set_price",
    "strict_object",
]
