"""The report as Markdown, and the definitions a reader needs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from oversight.analysis import Analysis
from oversight.report._tables import Table, build_tables

__all__ = ["DEFINITIONS", "render_markdown"]

DEFINITIONS = """\
- **accuracy**: share of judgments whose most probable answer is the gold one; a tie between
  m answers that include the gold one counts 1/m (with two answers: p(gold) > 0.5 counts 1,
  p(gold) = 0.5 counts half).
- **95% CI**: percentile interval of a cluster bootstrap that resamples question *sources*
  (e.g. stories) with all their judgments, since questions about the same source are not
  independent. No interval is given with fewer than two sources.
- **p(gold)**: mean probability the judge put on the gold answer.
- **Brier**: mean of sum over answers of (p - 1[gold])², in [0, 2], lower is better; with two
  answers, always answering 50/50 scores 0.5.
- **log score**: mean natural log of p(gold), with p floored at 1e-6; 0 is perfect,
  ln 0.5 = -0.693 is a coin flip on two answers.
- **ECE**: expected calibration error over 10 equal-width bins of the confidence max(p):
  sum over bins of (share of judgments) × |accuracy − mean confidence|.
- **rounds**: rounds the judge saw (the judgment's rounds_seen, else the transcript's judge
  turns or rounds).
- **difference** (assisted vs unassisted): per judge and question, accuracy under the assisted
  condition minus under the unassisted one, averaged over the questions judged under both;
  paired cluster-bootstrap CI. **McNemar**: exact binomial test on the questions that only one
  condition got right (per-question majority; ties left out); it assumes independent questions.
- **gap closed**: (A − U) / (E − U) with E the expert ceiling (the judge reads the source):
  0 = no better than unassisted, 100% = as good as the expert.
- **Elo**: Bradley-Terry ratings fitted by maximum likelihood, 1500 + 400·θ/ln 10; a debater
  wins when the judge favours its answer over its opponent's.
- **kappa / alpha**: Cohen's kappa per pair of judges, Krippendorff's alpha (nominal) over all,
  on verdicts for the same transcripts.
"""
"""How to read the numbers, as a Markdown list."""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(table: Table) -> str:
    lines = [f"### {table.title}", ""]
    lines.append("| " + " | ".join(_cell(h) for h in table.headers) + " |")
    lines.append(
        "|" + "|".join("---:" if i in table.numeric else "---" for i in range(len(table.headers)))
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
        + f". Intervals: {a.settings.n_bootstrap} bootstrap resamples, seed {a.settings.seed}.",
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
    out += ["## How to read these numbers", "", DEFINITIONS]
    return "\n".join(out)
