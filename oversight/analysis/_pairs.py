"""Which pairs of conditions a report compares (the rule is in
:mod:`oversight.analysis._compare`'s docstring), and why none when the default finds none."""

from __future__ import annotations

from collections.abc import Collection

__all__ = ["comparison_pairs", "no_pairs_reason"]


def _strip(name: str, protocol: str) -> str:
    return name.replace(protocol, "").strip("-_ ·")


def comparison_pairs(
    conditions: list[str],
    protocol_of: dict[str, str],
    *,
    pairs: list[tuple[str, str]] | None,
    baseline: str | None,
    rating_only: Collection[str] = (),
) -> list[tuple[str, str]]:
    """The ``(A, B)`` pairs to compare among ``conditions`` (see the module docstring)."""
    if pairs:
        return [(a, b) for a, b in pairs if a in conditions and b in conditions]
    compared = [c for c in conditions if c not in rating_only]
    if baseline is not None:
        if baseline not in conditions:
            return []
        return [(c, baseline) for c in compared if c != baseline]
    conditions = compared
    out = []
    units = [c for c in conditions if protocol_of.get(c) == "unassisted"]
    assisted = [c for c in conditions if protocol_of.get(c) not in ("unassisted", "expert")]
    out += [(a, u) for u in sorted(units) for a in assisted]
    debates = sorted(c for c in conditions if protocol_of.get(c) == "debate")
    consults = sorted(c for c in conditions if protocol_of.get(c) == "consultancy")
    lone = len(debates) == 1 and len(consults) == 1
    for d in debates:
        for k in consults:
            if lone or _strip(d, "debate") == _strip(k, "consultancy"):
                out.append((d, k))
    return out


def no_pairs_reason(
    conditions: set[str],
    protocol_of: dict[str, str],
    strata: list[str],
    rating_only: Collection[str] = (),
) -> str:
    """Why the default rule found no pair among the scored ``conditions`` (a warning)."""
    hint = "; name pairs with --compare A,B or --baseline C"
    if len(conditions) < 2:
        return (
            f"no comparison: only one condition ({', '.join(sorted(conditions)) or 'none'}) "
            "has scored judgments, so there is nothing to compare it with"
        )
    if comparison_pairs(
        sorted(conditions), protocol_of, pairs=None, baseline=None, rating_only=rating_only
    ):
        return (
            "no comparison: the default pairs of conditions were never judged in the same "
            f"group of {', '.join(strata)} (comparisons are made within each)" + hint
        )
    crossplay = sorted(conditions.intersection(rating_only))
    more = f" and {len(crossplay) - 3} more" if len(crossplay) > 3 else ""
    head = "no pair of conditions to compare by default: " + (
        f"tournament cross-play conditions ({', '.join(crossplay[:3])}{more}) rate the "
        "players and are left out of the default comparisons; among the others, "
        if crossplay
        else ""
    )
    protocols = {protocol_of.get(c) for c in conditions.difference(rating_only)}
    if "unassisted" in protocols:
        return (
            head + "besides the unassisted baseline there are only expert ceilings, and no "
            "debate and consultancy pair" + hint
        )
    return (
        head + "no condition uses the unassisted protocol (the baseline of assisted "
        "conditions) and there is no debate and consultancy pair" + hint
    )
