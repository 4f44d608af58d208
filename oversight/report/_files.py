"""Writing a report into a folder (by default ``RUN/reports/``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from oversight.analysis import Analysis
from oversight.report._markdown import render_markdown
from oversight.report._plots import write_plots
from transcripts import write_json_atomic

__all__ = ["ReportFiles", "render_json", "write_report"]


def render_json(a: Analysis, *, indent: int | None = 2) -> str:
    """The analysis as JSON text: the schema documented by :class:`~oversight.analysis.Analysis`."""
    return a.model_dump_json(indent=indent)


@dataclass
class ReportFiles:
    """What :func:`write_report` wrote."""

    json: Path | None = None
    """``analysis.json``."""
    markdown: Path | None = None
    """``report.md``."""
    plots: list[Path] = field(default_factory=list)
    """The PNG plots."""

    def all(self) -> list[Path]:
        """Every file written."""
        return [p for p in (self.json, self.markdown) if p is not None] + self.plots


def write_report(
    a: Analysis,
    folder: str | Path | None = None,
    *,
    json: bool = True,
    markdown: bool = True,
    plots: bool = False,
) -> ReportFiles:
    """Write ``analysis.json``, ``report.md`` and (with ``plots``) PNG plots into ``folder``.

    ``folder`` defaults to the run's ``reports/`` folder. Files are replaced atomically.
    """
    out = Path(folder) if folder is not None else Path(a.run) / "reports"
    out.mkdir(parents=True, exist_ok=True)
    files = ReportFiles()
    if plots:
        files.plots = write_plots(a, out)
    if json:
        files.json = out / "analysis.json"
        write_json_atomic(files.json, a.model_dump(mode="json"))
    if markdown:
        files.markdown = out / "report.md"
        tmp = out / ".report.md.tmp"
        # UTF-8 whatever the locale: the report holds "—", "×", "≥" (ASCII or cp1252 fail).
        tmp.write_text(render_markdown(a, files.plots, relative_to=out), encoding="utf-8")
        tmp.replace(files.markdown)
    return files
