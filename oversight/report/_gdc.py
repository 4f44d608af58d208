"""The GDC gaps as report tables (terminal and Markdown); see :mod:`oversight.analysis._gdc`."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console

from oversight.analysis._gdc import GDCEstimate, GDCStats
from oversight.report._markdown import _md_table
from oversight.report._tables import Table, ci, num, pct, pp
from oversight.report._terminal import _rich

__all__ = ["GDC_NOTE", "gdc_markdown", "gdc_table", "print_gdc"]

GDC_NOTE = (
    "G: the model's own answers that are gold; D: answers it rightly calls flawed "
    "(p_flawed > 0.5) or good; C: its critiques right by a rater who reads the key (flaw "
    "identified, or no false flaw on a good answer); D − C > 0: it knows of flaws it does not "
    "articulate; G − D < 0: it tells flaws apart better than it avoids them (Saunders et al. "
    "2022, sec. 5). CIs: cluster bootstrap over question sources, gaps within each resample."
)


def _share(e: GDCEstimate) -> str:
    return f"{pct(e.value)} {ci(e.ci95)}" if e.ci95 else pct(e.value)


def _gap(e: GDCEstimate) -> str:
    return f"{pp(e.value)} {ci(e.ci95, signed=True)}" if e.ci95 else pp(e.value)


def gdc_table(stats: Sequence[GDCStats]) -> Table:
    """One row per condition: G, D, C and the gaps with 95% intervals, Brier, helpfulness."""
    headers = ["condition", "critic", "items", "flawed", "G", "D", "C", "D − C", "G − D",
               "D − C (flawed)", "Brier(D)", "helpfulness"]
    table = Table("Generator–discriminator–critique gaps (95% CI)", headers, note=GDC_NOTE)
    table.numeric = set(range(2, len(headers)))
    for s in stats:
        table.rows.append([
            s.condition, s.critic or "—", str(s.items), str(s.flawed),
            _share(s.generation), _share(s.discrimination), _share(s.critique),
            _gap(s.d_minus_c), _gap(s.g_minus_d), _gap(s.d_minus_c_flawed),
            num(s.discrimination_brier.value), num(s.helpfulness.value, 2),
        ])
    return table


def print_gdc(stats: Sequence[GDCStats], console: Console) -> None:
    """Print the GDC table (nothing when no condition measured GDC)."""
    if stats:
        console.print(_rich(gdc_table(stats)))


def gdc_markdown(stats: Sequence[GDCStats]) -> str:
    """The GDC table as a Markdown section."""
    return "\n".join(["## GDC gaps", "", _md_table(gdc_table(stats)), ""])
