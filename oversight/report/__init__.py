"""Presenting an analysis: terminal tables, Markdown, JSON and PNG plots.

Example::

    from oversight.analysis import analyze
    from oversight.report import print_report, write_report

    result = analyze("runs/pilot")
    print_report(result)                          # rich tables on stdout
    files = write_report(result, plots=True)      # runs/pilot/reports/: JSON, Markdown, PNGs

matplotlib is imported only when plots are drawn.
"""

from oversight.report._files import ReportFiles, render_json, write_report
from oversight.report._gdc import (
    gdc_markdown,
    gdc_table,
    print_gdc,
    tree_table,
    trees_markdown,
)
from oversight.report._markdown import DEFINITIONS, render_markdown
from oversight.report._plots import write_plots
from oversight.report._terminal import print_report, render_terminal

__all__ = [
    "DEFINITIONS",
    "ReportFiles",
    "gdc_markdown",
    "gdc_table",
    "print_gdc",
    "print_report",
    "render_json",
    "render_markdown",
    "render_terminal",
    "tree_table",
    "trees_markdown",
    "write_plots",
    "write_report",
]
