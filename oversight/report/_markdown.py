"""The report as Markdown, and the definitions a reader needs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from oversight.analysis import Analysis
from oversight.report._beliefs import BELIEF_DEFINITIONS
from oversight.report._tables import Table, build_tables

__all__ = ["DEFINITIONS", "render_markdown"]

DEFINITIONS = (Path(__file__).with_name("metrics.md")).read_text(encoding="utf-8").split("-->", 1)[
    1
].strip() + "\n"
"""How to read the numbers, as Markdown (``metrics.md`` next to this module: the one
definition, also shown by the documentation site)."""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(table: Table) -> str:
    lines = [f"### {table.title}", ""]
    lines.append("| " + " | ".join(_cell(h) for h in table.headers) + " |")
    lines.append(
        "|"
        + "|".join("---:" if i in table.numeric else "---" for i in range(len(table.headers)))
        + "|"
    )
    for row in table.rows:
        lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
    if table.note:
        lines += ["", f"*{table.note}*"]
    return "\n".join(lines)


def render_markdown(
    a: Analysis, plots: Sequence[Path] = (), *, relative_to: Path | None = None
) -> str:
    """The report as Markdown; ``plots`` are embedded (paths relative to ``relative_to``)."""
    t = a.totals
    grouped = ", ".join(f"`{b}`" for b in a.settings.by) or "nothing"
    filtered = ", ".join(f"`{w}`" for w in a.settings.where)
    out = [
        f"# Report: run {a.run_id}",
        "",
        f"Run folder: `{a.run}`",
        "",
        f"{t.transcripts} transcripts and {t.judgments} judgments: {t.scored} scored, "
        f"{t.failed} failed, {t.skipped} skipped, {t.unscored} unscored, "
        f"{t.filtered_out} filtered out, {t.orphaned} without a transcript, "
        f"{t.replaced} replaced or superseded.",
        "",
        f"Grouped by {grouped}"
        + (f"; filtered by {filtered}" if filtered else "")
        + f". Intervals: CR2 t below {a.settings.small_sample_clusters} sources, else "
        f"{a.settings.n_bootstrap} bootstrap resamples, seed {a.settings.seed}; p-values: "
        f"{a.settings.multiplicity} adjustment.",
        "",
    ]
    if a.warnings:
        out += ["## Warnings", "", *(f"- {w}" for w in a.warnings), ""]
    out += ["## Results", ""]
    for table in build_tables(a):
        out += [_md_table(table), ""]
    if plots:
        out += ["## Plots", ""]
        for p in plots:
            shown = p.relative_to(relative_to) if relative_to else p
            out += [f"![{p.stem}]({shown.as_posix()})", ""]
    definitions = DEFINITIONS + (BELIEF_DEFINITIONS if a.beliefs else "")
    out += ["## How to read these numbers", "", definitions]
    return "\n".join(out)
