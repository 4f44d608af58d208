"""Spend in words, one rule for every summary: dollars known, then what is only estimated or
unknown, each said apart (never counted as zero)."""

from __future__ import annotations

__all__ = ["estimated_text", "lost_text", "spend_text", "unknown_text"]


def spend_text(
    spent_usd: float,
    unknown: int = 0,
    lost: int = 0,
    *,
    estimated_usd: float = 0.0,
    estimated_calls: int = 0,
) -> str:
    """Dollars spent, then the calls whose cost is only estimated, those of unknown cost and
    those cut off in flight, each said apart:
    ``$0.1234 + ≤$0.0500 estimated for 3 call(s) without token counts``."""
    text = f"${spent_usd:.4f}"
    if estimated_calls:
        text += f" + {estimated_text(estimated_usd, estimated_calls)}"
    if unknown:
        text += f" + {unknown_text(unknown)}"
    if lost:
        text += f" + {lost_text(lost)}"
    return text


def estimated_text(usd: float, calls: int) -> str:
    """Paid calls whose replies carried no token counts, at the most they can have cost (the
    prompt counted locally, all of ``max_tokens`` for the reply): what the cost cap counts."""
    return f"≤${usd:.4f} estimated for {calls} call(s) without token counts"


def unknown_text(calls: int) -> str:
    """Paid calls whose cost is unknown, in words (never counted as zero)."""
    return f"{calls} call(s) of unknown cost"


def lost_text(calls: int) -> str:
    """Calls sent and never closed, in words. A kill cut them off, or a cancellation (a
    sibling call's failure, a second Ctrl-C): ``sent.jsonl`` does not say which."""
    return (
        f"{calls} call(s) cut off in flight (by a kill or a cancellation; perhaps charged "
        f"by the provider, cost unknown)"
    )
