"""The dry run: the whole pipeline on mock endpoints, and what the real run would use.

Every endpoint is replaced by ``mock/<its spec>``, which invents deterministic replies
(schema-valid JSON where a schema is asked, free text of about half ``max_tokens``
otherwise), so every protocol, judge, store write and report runs as in the real run, into
a temporary folder. Each request the mocks receive is one call the real run would make, so:

* **calls** are exact for the given dataset, conditions and judges (re-asks after unusable
  replies come on top);
* **input tokens** are counted on the prompts as built with the mock replies, with
  ``tiktoken`` when it is installed and has its encoding locally (``o200k_base``),
  otherwise estimated as characters / 4 (about right for English text);
* **output tokens** are given as an estimate (half of each call's ``max_tokens``, as the
  mocks answer) and a bound (all of ``max_tokens``);
* **cost** applies the endpoint's price (``pricing`` or the built-in table) to the input
  tokens and to the output estimate and bound; mock and local endpoints are free and a
  model with no known price is reported as unknown, never as zero; on an endpoint with
  ``batch = true``, the calls whose call site lets them wait in a batch (``batchable``:
  opening speeches of a simultaneous debate, final verdicts, RRM leaves) are priced at the
  batch rate and the others at the standard one, and the saving is reported.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oversight.endpoints import (
    BATCH_DISCOUNT,
    Endpoint,
    MockBackend,
    Price,
    Reply,
    Request,
    TokenLogprob,
    cost_usd,
    dry_run_reply,
    endpoint,
    lookup_price,
)
from oversight.experiment import Experiment

__all__ = [
    "EndpointEstimate",
    "count_tokens",
    "estimate_endpoint",
    "mock_factory",
    "mock_replies",
    "rehearsal_folder",
]


@dataclass
class EndpointEstimate:
    """What the real run would send to one endpoint."""

    name: str
    """Name in ``[endpoints]`` (or the spec, for endpoints given inline)."""
    spec: str
    """The real endpoint spec."""
    calls: int = 0
    """Calls the real run would make."""
    input_tokens: int = 0
    """Prompt tokens, counted or estimated (see ``tokenizer``)."""
    output_tokens: int = 0
    """Completion tokens, estimated as half of each call's ``max_tokens``."""
    output_tokens_max: int = 0
    """Completion tokens if every call used all of its ``max_tokens``."""
    cost_usd: float | None = None
    """Estimated cost; None when the price is unknown."""
    cost_usd_max: float | None = None
    """Cost with the output bound; None when the price is unknown."""
    tokenizer: str = "chars/4"
    """How input tokens were counted: ``tiktoken:o200k_base`` or ``chars/4``."""
    batched: bool = False
    """The endpoint has ``batch = true``: its batchable calls are at the batch price."""
    batched_calls: int = 0
    """Calls that would go through the provider's batch API (``batch = true`` and a call
    site nothing waits on at once); the rest are sent at once at the standard price."""
    batch_saving_usd: float | None = None
    """Dollars the batch price saves on the batched calls against the standard one
    (estimate); None if unbatched or the price is unknown."""
    price: Price | None = field(default=None, repr=False)


@contextlib.contextmanager
def rehearsal_folder(name: str, out: str | os.PathLike[str] | None) -> Iterator[Path]:
    """Where the dry run's store goes: ``out``, kept; or a fresh temporary folder, removed
    with everything in it once the estimate is made."""
    if out is not None:
        yield Path(out)
        return
    with tempfile.TemporaryDirectory(
        prefix=f"oversight-dry-{name}-", ignore_cleanup_errors=True
    ) as scratch:
        yield Path(scratch)


_LETTERS = "ABCDEFGH"


def _shaped(invented: Reply, request: Request) -> Reply:
    """Free text shaped as the request asks: letter logprobs for a scorer or logprob judge,
    private reasoning and a short quoting argument for a speaker told to use the tags."""
    if request.logprobs:
        seed = int.from_bytes(hashlib.sha256(invented.text.encode()).digest()[:4], "big")
        top = {c: -1.0 - ((seed >> (3 * i)) % 8) / 2 for i, c in enumerate(_LETTERS)}
        best = "AB"[seed % 2]  # every question has these labels
        top[best] = -0.1
        return Reply(
            text=best,
            usage=invented.usage,
            logprobs=[TokenLogprob(token=best, logprob=top[best], top=top)],
        )
    prompt = "".join(m.content for m in request.messages)
    if "<argument>" not in prompt:
        return invented
    words = invented.text.split()
    argument = " ".join(words[:60])
    quote = " ".join(words[60:68]) or "mock"
    text = (
        f"<thinking>{' '.join(words[68:])}</thinking>\n"
        f"<argument>{argument} <quote>{quote}</quote></argument>"
    )
    return Reply(text=text, usage=invented.usage)


def mock_replies(name: str) -> Callable[[Request], Reply]:
    """The invented replies of :func:`oversight.endpoints.dry_run_reply`, except that an
    object of numbers under a ``probabilities`` key (a judge's verdict) is normalised to sum
    to 1, as a real judge model's would; other schema-valid inventions do not. Free text
    keeps to the format a request asks for (see :func:`_shaped`), so a dry run makes the
    calls a run with well-behaved models would, not redraws of rule-breaking speeches."""

    def reply(request: Request) -> Reply:
        invented = dry_run_reply(name, request)
        if request.schema_ is None:
            return _shaped(invented, request)
        try:
            data = json.loads(invented.text)
        except ValueError:
            return invented
        probabilities = data.get("probabilities") if isinstance(data, dict) else None
        if (
            isinstance(probabilities, dict)
            and probabilities
            and all(isinstance(v, int | float) for v in probabilities.values())
        ):
            total = sum(abs(v) for v in probabilities.values()) or 1.0
            data["probabilities"] = {k: abs(v) / total for k, v in probabilities.items()}
            return Reply(text=json.dumps(data), usage=invented.usage)
        return invented

    return reply


def mock_factory() -> Callable[..., Endpoint]:
    """Makes ``mock/<spec>`` for every real spec (no cache, no network, no key)."""

    def make(spec: str, **options: Any) -> Endpoint:
        return endpoint(f"mock/{spec}", cache=False, replies=mock_replies(spec))

    return make


_ENCODER: Any = None
_TOKENIZER = "chars/4"


def _encoder() -> Any:
    """tiktoken's o200k_base encoder when installed and available offline, else None."""
    global _ENCODER, _TOKENIZER
    if _ENCODER is None:
        _ENCODER = False
        try:
            tiktoken = importlib.import_module("tiktoken")
            _ENCODER = tiktoken.get_encoding("o200k_base")
            _TOKENIZER = "tiktoken:o200k_base"
        except Exception:  # not installed, or its encoding is not cached (no downloads here)
            _ENCODER = False
    return _ENCODER or None


def count_tokens(text: str) -> int:
    """Tokens of ``text``: tiktoken when available, else characters / 4 (rounded up)."""
    encoder = _encoder()
    if encoder is not None:
        return len(encoder.encode(text, disallowed_special=()))
    return (len(text) + 3) // 4


def _request_tokens(request: Request) -> int:
    text = (request.system or "") + "".join(m.content for m in request.messages)
    return count_tokens(text) + 4 * len(request.messages)  # a few tokens of chat framing


def _price(spec: str, pricing: dict[str, float] | str | None) -> Price | None:
    provider, _, model = spec.partition("/")
    if isinstance(pricing, dict):
        return Price(**pricing)
    if isinstance(pricing, str):
        return lookup_price(pricing)
    if provider in ("mock", "local", "vllm", "ollama"):  # no bill for one's own server
        return Price(input=0.0, output=0.0)
    return lookup_price(model)


def estimate_endpoint(experiment: Experiment, name: str, made: Endpoint) -> EndpointEstimate:
    """The estimate for one endpoint, from the requests its mock received."""
    config = experiment.endpoints.get(name)
    spec = config.spec if config is not None else name
    estimate = EndpointEstimate(name=name, spec=spec)
    estimate.batched = config is not None and bool(config.batch)
    backend = made.backend
    requests = backend.requests if isinstance(backend, MockBackend) else []
    shares = {True: [0, 0, 0], False: [0, 0, 0]}  # batched?: input, output, output bound
    for request in requests:
        batched = estimate.batched and request.batchable
        estimate.calls += 1
        estimate.batched_calls += batched
        tokens = (
            _request_tokens(request),
            max(1, request.max_tokens // 2),
            request.max_tokens,
        )
        shares[batched] = [a + b for a, b in zip(shares[batched], tokens, strict=True)]
    estimate.input_tokens = shares[True][0] + shares[False][0]
    estimate.output_tokens = shares[True][1] + shares[False][1]
    estimate.output_tokens_max = shares[True][2] + shares[False][2]
    estimate.tokenizer = _TOKENIZER
    price = _price(spec, config.pricing if config is not None else None)
    estimate.price = price
    if price is not None:
        from transcripts import Usage

        model = spec.partition("/")[2]
        server = config.base_url if config is not None else None

        def cost(share: list[int], output: int) -> float:
            usage = Usage(input_tokens=share[0], output_tokens=share[output])
            # The run's rule, so a regional host's uplift is in the estimate too.
            return cost_usd(model, usage, price, server=server) or 0.0

        saving = cost(shares[True], 1) * (1 - BATCH_DISCOUNT)
        estimate.cost_usd = cost(shares[False], 1) + cost(shares[True], 1) - saving
        estimate.cost_usd_max = cost(shares[False], 2) + cost(shares[True], 2) * BATCH_DISCOUNT
        if estimate.batched:
            estimate.batch_saving_usd = saving
    return estimate
