"""What a call costs: a pricing table users can extend or override.

Prices are US dollars per million tokens, as the providers publish them (standard tier,
no batch discount). ``PRICES_AS_OF`` says when the table was last checked: prices change,
so check the providers' pages and override with :func:`set_price` or ``pricing=`` when
they do. A model missing from the table has an unknown cost (None, never a silent zero),
and the first such call in a process logs a warning naming the model.

Prompt-cache writes (reported by Anthropic only) cost a premium: 1.25 times the input
rate unless a price says otherwise, Anthropic's rate for its default 5-minute cache.

OpenAI's data-residency (regional processing) hosts, ``<region>.api.openai.com``, charge
10% more for the models released on or after 2026-03-05 (:data:`REGIONAL_UPLIFT`); like
the batch discount, the uplift applies on top of whatever standard price a model has.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from transcripts import Usage

__all__ = [
    "PRICES_AS_OF",
    "REGIONAL_UPLIFT",
    "Price",
    "cost_usd",
    "lookup_price",
    "openai_host",
    "regional_uplift",
    "set_price",
]

CACHE_WRITE_PREMIUM = 1.25
"""Cache writes cost this times the input rate where a price sets no ``cache_write`` rate
(Anthropic's 5-minute cache; its 1-hour cache costs 2x: set ``cache_write`` for it)."""

log = logging.getLogger("oversight.endpoints")

PRICES_AS_OF = "2026-06-01"
"""The date the built-in table was last checked against the providers' price pages."""


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input: float
    """Prompt tokens neither read from nor written to the provider's prompt cache."""
    output: float
    """Completion tokens (reasoning tokens included, as billed)."""
    cached_input: float | None = None
    """Prompt tokens read from the provider's prompt cache; None: same as ``input``."""
    cache_write: float | None = None
    """Prompt tokens written to the provider's prompt cache; None: 1.25 x ``input``."""

    def cost(self, usage: Usage) -> float:
        """Dollars for ``usage``."""
        cached = min(usage.cached_tokens, usage.input_tokens)
        written = min(usage.cache_write_tokens, usage.input_tokens - cached)
        cached_rate = self.input if self.cached_input is None else self.cached_input
        write_rate = (
            self.input * CACHE_WRITE_PREMIUM if self.cache_write is None else self.cache_write
        )
        dollars = (
            (usage.input_tokens - cached - written) * self.input
            + cached * cached_rate
            + written * write_rate
            + usage.output_tokens * self.output
        )
        return dollars / 1_000_000


_P = Price
_BUILTIN: dict[str, Price] = {
    # OpenAI
    "gpt-5.5": _P(5.00, 30.00, 0.50),
    "gpt-5.4": _P(2.50, 15.00, 0.25),
    "gpt-5.4-mini": _P(0.75, 4.50, 0.075),
    "gpt-5.4-nano": _P(0.20, 1.25, 0.02),
    "gpt-5.2": _P(1.75, 14.00, 0.175),
    "gpt-5.1": _P(1.25, 10.00, 0.125),
    "gpt-4o": _P(2.50, 10.00, 1.25),
    "gpt-4o-mini": _P(0.15, 0.60, 0.075),
    "gpt-4.1": _P(2.00, 8.00, 0.50),
    "gpt-4.1-mini": _P(0.40, 1.60, 0.10),
    "gpt-4.1-nano": _P(0.10, 0.40, 0.025),
    "gpt-5": _P(1.25, 10.00, 0.125),
    "gpt-5-mini": _P(0.25, 2.00, 0.025),
    "gpt-5-nano": _P(0.05, 0.40, 0.005),
    "o1": _P(15.00, 60.00, 7.50),
    "o3": _P(2.00, 8.00, 0.50),
    "o3-mini": _P(1.10, 4.40, 0.55),
    "o4-mini": _P(1.10, 4.40, 0.275),
    "gpt-4-turbo": _P(10.00, 30.00),
    "gpt-3.5-turbo": _P(0.50, 1.50),
    # Anthropic (cache reads at 10% of input; cache writes at 1.25x input, the default)
    "claude-opus-4-6": _P(5.00, 25.00, 0.50),
    "claude-sonnet-4-6": _P(3.00, 15.00, 0.30),
    "claude-opus-4-5": _P(5.00, 25.00, 0.50),
    "claude-opus-4-1": _P(15.00, 75.00, 1.50),
    "claude-opus-4": _P(15.00, 75.00, 1.50),
    "claude-sonnet-4-5": _P(3.00, 15.00, 0.30),
    "claude-sonnet-4": _P(3.00, 15.00, 0.30),
    "claude-3-7-sonnet": _P(3.00, 15.00, 0.30),
    "claude-3-5-sonnet": _P(3.00, 15.00, 0.30),
    "claude-haiku-4-5": _P(1.00, 5.00, 0.10),
    "claude-3-5-haiku": _P(0.80, 4.00, 0.08),
    "claude-3-haiku": _P(0.25, 1.25, 0.03),
}

REGIONAL_UPLIFT = 1.10
"""What OpenAI's data-residency hosts (``us.``, ``eu.``, ``au.``, ``in.``, ``jp.api.openai.com``)
charge, times the standard price, for models released on or after 2026-03-05 (OpenAI's
data-residency guide; its GPT-5.4 model pages say the same of GPT-5.4 and GPT-5.4 pro)."""

_REGIONAL_UPLIFTED = frozenset(
    {"gpt-5.4", "gpt-5.4-mini", "gpt-5.4-nano", "gpt-5.4-pro", "gpt-5.5"}
)
"""Models released on or after 2026-03-05, and their dated snapshots (gpt-5.4-pro has no
table price: give it one with set_price or pricing=)."""

_overrides: dict[str, Price] = {}
_warned: set[str] = set()

# Dated snapshots and aliases share their family's price (gpt-4o-2024-08-06,
# claude-sonnet-4-20250514, claude-3-5-haiku-latest). Anything else must match exactly,
# so gpt-5.1 never borrows gpt-5's price.
_SNAPSHOT = re.compile(r"(-\d{4}-\d{2}-\d{2}|-\d{8}|-latest)$")


def set_price(
    model: str,
    *,
    input: float,
    output: float,
    cached_input: float | None = None,
    cache_write: float | None = None,
) -> None:
    """Set the price of ``model`` (USD per million tokens) for this process.

    Example::

        set_price("qwen2.5-7b-instruct", input=0.0, output=0.0)   # free local server
        set_price("gpt-4o", input=2.5, output=10.0, cached_input=1.25)
    """
    _overrides[model] = Price(
        input=input, output=output, cached_input=cached_input, cache_write=cache_write
    )


def lookup_price(model: str) -> Price | None:
    """The price of ``model``: overrides first, then the built-in table; None if unknown."""
    for name in (model, _SNAPSHOT.sub("", model)):
        for table in (_overrides, _BUILTIN):
            if name in table:
                return table[name]
    return None


def as_price(value: Price | str | dict[str, Any]) -> Price | None:
    """A Price from the ``pricing=`` option (a Price, a dict, or another model's name)."""
    if isinstance(value, Price):
        return value
    if isinstance(value, dict):
        return Price(**value)
    return lookup_price(value)


def openai_host(server: str | None) -> Literal["global", "regional"] | None:
    """Whether ``server`` (a base URL) is OpenAI's own API: ``global`` for api.openai.com,
    ``regional`` for a data-residency host of it (eu.api.openai.com, ...); None for any
    other server (a compatible one)."""
    host = urlsplit(server or "").hostname or ""
    if host == "api.openai.com":
        return "global"
    return "regional" if host.endswith(".api.openai.com") else None


def regional_uplift(model: str, server: str | None) -> float:
    """What ``model`` costs at ``server`` (a base URL) times its standard price:
    :data:`REGIONAL_UPLIFT` on an OpenAI data-residency host for a model it applies to,
    else 1."""
    regional = openai_host(server) == "regional"
    return REGIONAL_UPLIFT if regional and _SNAPSHOT.sub("", model) in _REGIONAL_UPLIFTED else 1.0


def cost_usd(
    model: str, usage: Usage, price: Price | None = None, *, server: str | None = None
) -> float | None:
    """Dollars for ``usage`` on ``model`` (at ``server``, a base URL: see
    :func:`regional_uplift`); None (with one warning per model) if unknown."""
    price = price or lookup_price(model)
    if price is None:
        if model not in _warned:
            _warned.add(model)
            log.warning(
                "no price known for model %r: its cost is reported as unknown (None). "
                "Set one with oversight.endpoints.set_price(%r, input=..., output=...) "
                "or the endpoint option pricing=...",
                model,
                model,
            )
        return None
    return price.cost(usage) * regional_uplift(model, server)
