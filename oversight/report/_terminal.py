"""The report in the terminal, as rich tables."""

from __future__ import annotations

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table as RichTable
from rich.text import Text

from oversight.analysis import Analysis
from oversight.report._tables import Table, build_tables

__all__ = ["print_report", "render_terminal"]


def _header(a: Analysis) -> Text:
    t = a.totals
    text = Text()
    text.append("Run ", style="bold")
    text.append(f"{a.run_id}", style="bold cyan")
    text.append(f"  {a.run}\n", style="dim")
    text.append(
        f"{t.transcripts} transcripts, {t.judgments} judgments: {t.scored} scored, "
        f"{t.failed} failed, {t.skipped} skipped, {t.unscored} unscored"
    )
    if t.filtered_out:
        text.append(f", {t.filtered_out} filtered out")
    if t.orphaned:
        text.append(f", {t.orphaned} without a transcript")
    if t.replaced:
        text.append(f", {t.replaced} replaced or superseded")
    if a.settings.where:
        text.append(f"\nwhere {' and '.join(a.settings.where)}", style="italic")
    text.append(
        f"\n95% CIs over question sources: CR2 t below {a.settings.small_sample_clusters} "
        f"sources, else percentile cluster bootstrap ({a.settings.n_bootstrap} resamples, "
        f"seed {a.settings.seed}); p-values: {a.settings.multiplicity} adjustment",
        style="dim",
    )
    return text


def _rich(table: Table) -> RichTable:
    out = RichTable(
        title=Text(table.title),  # Text, not markup: names come from users and models
        title_style="bold",
        title_justify="left",
        caption=Text(table.note) if table.note else None,
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        header_style="bold",
    )
    for i, name in enumerate(table.headers):
        out.add_column(Text(name), justify="right" if i in table.numeric else "left")
    for row in table.rows:
        out.add_row(*(Text(cell) for cell in row))  # names from users are not markup
    return out


def render_terminal(a: Analysis) -> RenderableType:
    """The whole report as one rich renderable."""
    parts: list[RenderableType] = [_header(a), Text()]
    for table in build_tables(a):
        parts += [_rich(table), Text()]
    for warning in a.warnings:
        parts.append(Text(f"warning: {warning}", style="yellow"))
    return Group(*parts)


def print_report(a: Analysis, console: Console | None = None) -> None:
    """Print the report's tables to ``console`` (stdout by default)."""
    (console or Console()).print(render_terminal(a))
