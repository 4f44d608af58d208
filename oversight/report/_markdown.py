"""The report as Markdown, and the definitions a reader needs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from oversight.analysis import Analysis
from oversight.report._beliefs import BELIEF_DEFINITIONS
from oversight.report._tables import Table, build_tables

__all__ = ["DEFINITIONS", "render_markdown"]

DEFINITIONS = """\
- **accuracy**: share of judgments whose most probable answer is the gold one; a tie between
  m answers that include the gold one counts 1/m (with two answers: p(gold) > 0.5 counts 1,
  p(gold) = 0.5 counts half).
- **95% CI**: intervals respect question *sources* (e.g. stories), since questions about the
  same source are not independent, and each uses the sources of its own slice. With fewer
  than 50 sources, where the bootstrap undercovers, means and differences use the CR2
  cluster-robust variance with a t distribution (Bell-McCaffrey degrees of freedom); from 50
  on, the percentile cluster bootstrap. No interval is given with fewer than two sources.
- **p(gold)**: mean probability the judge put on the gold answer.
- **Brier**: mean of sum over answers of (p - 1[gold])², in [0, 2], lower is better; with two
  answers, always answering 50/50 scores 0.5. **Binary Brier**: (1 - p(gold))², half of it,
  in [0, 1] (50/50 scores 0.25), as debate papers report it; two-answer groups only.
- **log score**: mean natural log of p(gold), with p floored at 1e-6; 0 is perfect,
  ln 0.5 = -0.693 is a coin flip on two answers.
- **ECE**: expected calibration error over 10 equal-width bins (a, b] of the confidence
  max(p) (right-closed, as Guo et al. 2017 and scikit-learn): sum over bins of (share of
  judgments) × |accuracy − mean confidence|; cluster-bootstrap CI; not debiased, so small
  samples overstate it.
- **rounds**: rounds the judge saw (the judgment's rounds_seen, else the transcript's judge
  turns or rounds). Accuracy against rounds (rounds.png) compares separate judgments of
  transcripts cut to k rounds (offline judges, e.g. `rejudge --rounds`); a live judge's belief
  within a transcript is in the live judges' tables and beliefs.png.
- **comparisons** (A − B): by default each assisted condition against the unassisted one and
  debate against consultancy in the same setting (`--compare A,B`, `--baseline C` choose).
  Per-question accuracy (each question once). **paired** when the conditions share most
  questions (A_q − B_q over the shared ones), else **unpaired** (all questions of each,
  sources as clusters). **p (clustered)**: sign-flip permutation test over sources (paired)
  or CR3 cluster-jackknife t-test (unpaired), Holm-adjusted across the report's comparisons
  unless `--multiplicity none`. **McNemar**: exact binomial test on the questions only one
  condition got right (per-question majority; ties left out); it ignores clustering.
- **gap closed**: (A − U) / (E − U) with E the expert ceiling (the judge reads the source):
  0 = no better than unassisted, 100% = as good as the expert. Fieller's interval; shown as
  unbounded when E − U is not clearly positive.
- **balanced consultancy accuracy** (Khan et al. 2024): mean of the accuracy when the
  consultant argued the correct answer and when it argued an incorrect one.
- **Elo**: side-adjusted Bradley-Terry ratings (posterior mode with a normal prior of sd 1
  logit), 1500 + 400·θ/ln 10, with a shared term for arguing the correct side; a debater
  wins when the judge favours its answer over its opponent's. Per judge and group.
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
