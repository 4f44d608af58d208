"""The report's one interval rule for a mean, a share or a difference over question sources,
and the ``ci_method`` words that say which part of it gave an interval.

The rule: none from fewer than two sources; below
:data:`~oversight.analysis._smallsample.SMALL_SAMPLE_CLUSTERS` sources, or when the items do
not vary (the bootstrap would see no variation and give a zero-width interval), CR2 with a
Bell-McCaffrey t (:mod:`oversight.analysis._smallsample`; a share every item scored alike, 0
or 1, gets Clopper-Pearson with each source counted once); from there on the percentile
cluster bootstrap (:mod:`oversight.analysis._bootstrap`). Judgments from two or more
annotators (people) are clustered both by source and by annotator instead, with a t on the
degrees of freedom the two-way fit used (:mod:`oversight.analysis._twoway`; an LLM judge
among the people counts as one more cluster): the interval is then about the population of
annotators, not only the people who judged. :func:`ruled` applies
the rule to the caller's own fits and bootstrap draws; :func:`ci_method` words it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from oversight.analysis._bootstrap import percentile_interval
from oversight.analysis._smallsample import SMALL_SAMPLE_CLUSTERS
from oversight.analysis._types import Floats, Interval

__all__ = ["Interval", "Ruled", "ci_method", "ruled"]


class Ruled(NamedTuple):
    """An interval by the rule, and its ``ci_method``."""

    ci95: Interval
    ci_method: str


def ruled(
    n_sources: int,
    *,
    varies: bool,
    cr2: Callable[[], Interval],
    bootstrap: Floats | Callable[[], Floats],
    variance: str = "CR2",
    alike: str | None = None,
    level: float = 0.95,
    annotators: int = 0,
    two_way: Callable[[], tuple[Interval, float]] | None = None,
) -> Ruled:
    """The interval of a statistic over ``n_sources`` sources of its own items: ``cr2()``
    (the caller's CR2 or CR3 t interval, or Clopper-Pearson) below
    :data:`SMALL_SAMPLE_CLUSTERS` sources or when the items do not ``vary``, else the
    percentile interval of the ``bootstrap`` draws (or of what calling it returns: drawn
    only when needed); none from fewer than two sources. ``variance`` and ``alike`` word
    it as in :func:`ci_method`. With ``annotators`` (people) two or more and items that
    vary, ``two_way()`` (the two-way interval over sources and annotators, and the degrees
    of freedom of its t) instead."""
    small = n_sources < SMALL_SAMPLE_CLUSTERS or not varies
    people = annotators if two_way is not None and annotators >= 2 and varies else 0
    interval: Interval = None
    df = 0.0
    if n_sources >= 2:
        if people and two_way is not None:
            interval, df = two_way()
        elif small:
            interval = cr2()
        else:
            draws = bootstrap() if callable(bootstrap) else bootstrap
            interval = percentile_interval(draws, n_sources, level)
    words = ci_method(
        n_sources,
        has_interval=interval is not None,
        small=small,
        variance=variance,
        alike=alike,
        annotators=people,
        df=df,
    )
    return Ruled(interval, words)


def ci_method(
    n_sources: int,
    *,
    has_interval: bool = True,
    small: bool | None = None,
    variance: str = "CR2",
    alike: str | None = None,
    annotators: int = 0,
    df: float = 0.0,
) -> str:
    """How an interval over ``n_sources`` sources was computed, or why there is none:
    ``small`` (by default: below :data:`SMALL_SAMPLE_CLUSTERS` sources) by ``variance``
    with a Bell-McCaffrey t, else the percentile cluster bootstrap; ``alike`` (e.g.
    ``"judgment right"``) when every item scored the same 0 or 1, so the interval is
    Clopper-Pearson over the sources; ``annotators`` (two or more) when the interval is
    the two-way one over sources and annotators, with a t on ``df`` degrees of freedom (none
    when ``df`` is not positive: too few annotators, e.g. two who each judged one side)."""
    if n_sources < 2:
        return f"no interval: {n_sources} source{'s' if n_sources != 1 else ''} (need 2)"
    # Whole df as they are; a Welch-Satterthwaite one (unequal groups of people) to 2 decimals.
    df_text = f"{df:g}" if float(df).is_integer() else f"{df:.2f}"
    if annotators >= 2 and df <= 0:
        return (
            f"no interval: too few annotators for a two-way interval ({annotators}, "
            f"t({df_text} df)); --cluster sources gives one about these people"
        )
    if not has_interval:
        return "no interval: no variation between sources"
    if annotators >= 2:
        return f"two-way CR2 over {n_sources} sources and {annotators} annotators, t({df_text} df)"
    if alike is not None:
        return f"Clopper-Pearson over {n_sources} sources (every {alike})"
    if small is None:
        small = n_sources < SMALL_SAMPLE_CLUSTERS
    return f"{variance}, t(Bell-McCaffrey df)" if small else "cluster bootstrap (percentile)"
