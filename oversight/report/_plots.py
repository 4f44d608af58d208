"""PNG plots of an analysis, drawn with matplotlib's Agg canvas.

matplotlib is imported only when plotting, and only through ``matplotlib.figure.Figure``
with the Agg canvas: no pyplot, so no global backend is switched and no window opens.

* ``accuracy.png`` — accuracy per condition (one marker per judge or other group) with the
  table's 95% intervals (CR2 t below 50 sources, else the cluster bootstrap);
* ``differences.png`` — each comparison A − B (by default assisted minus unassisted and
  debate minus consultancy), with its interval (when there are comparisons);
* ``calibration.png`` — reliability diagrams: accuracy against mean confidence per
  confidence bin, marker area proportional to the judgments in the bin;
* ``rounds.png`` — accuracy against the number of rounds the judge saw, with intervals
  (round counts with fewer than ``MIN_POINT_N`` judgments are left out of the plot, not out
  of the JSON): separate judgments of transcripts cut to k rounds (offline judges, e.g.
  ``rejudge --rounds``), not a live judge's belief within a transcript;
* ``beliefs.png`` — live judges' accuracy and p(gold) turn by turn within transcripts
  (:mod:`oversight.report._beliefs`).

Every point of ``accuracy.png`` is labelled with its number of judgments.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oversight.analysis import Analysis, GroupStats
from oversight.report._beliefs import belief_plot
from oversight.report._tournament import tournament_plot

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["write_plots"]

_MAX_PANELS = 12
_DPI = 150
_Y_LIMITS = (-0.04, 1.06)
"""Accuracy axes: a margin so points at 0 and 1 are drawn whole."""
MIN_POINT_N = 5
"""Fewest judgments behind a point of the rounds plot."""


def _figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _split_fields(a: Analysis) -> tuple[str | None, list[str]]:
    """The field on the x axis (condition if grouped by it) and the fields of the series."""
    by = a.settings.by
    if not by:
        return None, []
    x = "condition" if "condition" in by else by[0]
    return x, [f for f in by if f != x]


def _series_label(g: GroupStats, fields: list[str]) -> str:
    return " · ".join("—" if g.by.get(f) is None else str(g.by.get(f)) for f in fields) or "all"


def _x_label(g: GroupStats, x: str | None) -> str:
    return "all" if x is None else ("—" if g.by.get(x) is None else str(g.by.get(x)))


def _intervals(a: Analysis) -> str:
    """How the intervals drawn were made, as the tables say it."""
    return (
        f"95% CIs over sources: CR2 t below {a.settings.small_sample_clusters} sources, "
        "else cluster bootstrap"
    )


def _errors(values: list[float], intervals: list[tuple[float, float] | None]) -> list[list[float]]:
    low = [v - i[0] if i else 0.0 for v, i in zip(values, intervals, strict=True)]
    high = [i[1] - v if i else 0.0 for v, i in zip(values, intervals, strict=True)]
    return [[max(0.0, e) for e in low], [max(0.0, e) for e in high]]


def _accuracy(a: Analysis, path: Path) -> Path | None:
    groups = [g for g in a.groups if g.accuracy is not None]
    if not groups:
        return None
    x_field, series_fields = _split_fields(a)
    categories = list(dict.fromkeys(_x_label(g, x_field) for g in groups))
    series = list(dict.fromkeys(_series_label(g, series_fields) for g in groups))
    width = max(6.0, 0.9 * len(categories) * max(1.0, len(series) / 2) + 2.5)
    fig = _figure(min(width, 20.0), 4.8)
    ax = fig.add_subplot()
    step = 0.7 / max(1, len(series))
    for s_index, name in enumerate(series):
        mine = [g for g in groups if _series_label(g, series_fields) == name]
        xs = [
            categories.index(_x_label(g, x_field)) + (s_index - (len(series) - 1) / 2) * step
            for g in mine
        ]
        ys = [float(g.accuracy or 0.0) for g in mine]
        ax.errorbar(
            xs,
            ys,
            yerr=_errors(ys, [g.ci95 for g in mine]),
            fmt="o",
            capsize=4,
            markersize=6,
            label=name,
        )
        for x, y, g in zip(xs, ys, mine, strict=True):
            ax.annotate(
                f"n={g.n}",
                (x, y),
                xytext=(5, 0),
                textcoords="offset points",
                fontsize="x-small",
                va="center",
                color="dimgrey",
            )
    ax.set_xticks(range(len(categories)), categories)
    if max(len(c) for c in categories) * len(categories) > 60:
        ax.tick_params(axis="x", labelrotation=25)
    lows = [g.ci95[0] if g.ci95 else g.accuracy or 0.0 for g in groups]
    low = math.floor(min(lows) * 10 - 0.5) / 10
    ax.set_ylim(max(_Y_LIMITS[0], low if low > 0 else _Y_LIMITS[0]), _Y_LIMITS[1])
    ax.set_xlim(-0.6, len(categories) - 0.4)
    ax.set_ylabel("accuracy")
    ax.set_xlabel(x_field or "")
    ax.set_title(f"Accuracy with {_intervals(a)}", fontsize="medium")
    ax.grid(axis="y", alpha=0.3)
    if series_fields:
        ax.legend(title=" · ".join(series_fields), fontsize="small", loc="lower right")
    fig.savefig(path)
    return path


def _differences(a: Analysis, path: Path) -> Path | None:
    rows, seen = [], set()
    for c in a.comparisons:  # one row per pair (a pair repeats for each expert condition)
        key = (tuple(c.by.items()), c.assisted, c.baseline)
        if c.difference is not None and key not in seen:
            seen.add(key)
            rows.append(c)
    if not rows:
        return None
    fig = _figure(7.5, 1.4 + 0.45 * len(rows))
    ax = fig.add_subplot()
    labels = []
    for i, c in enumerate(rows):
        stratum = " · ".join(str(v) for v in c.by.values())
        labels.append(
            f"{c.assisted} − {c.baseline}, {c.design}" + (f" ({stratum})" if stratum else "")
        )
        d = 100 * float(c.difference or 0.0)
        interval = (100 * c.ci95[0], 100 * c.ci95[1]) if c.ci95 else None
        ax.errorbar([d], [i], xerr=_errors([d], [interval]), fmt="o", capsize=4, color="C0")
    ax.axvline(0.0, color="grey", linestyle="--", linewidth=1)
    ax.set_yticks(range(len(rows)), labels)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlabel("per-question accuracy difference, A − B (percentage points)")
    ax.set_title("Comparisons between conditions (95% CI)")
    ax.grid(axis="x", alpha=0.3)
    fig.savefig(path)
    return path


def _panels(
    a: Analysis,
) -> tuple[str | None, list[str], dict[str, list[GroupStats]], dict[str, str]]:
    """Groups split into panels by the series fields, lines within a panel by the x field;
    and one colour per line label, the same in every panel."""
    x_field, series_fields = _split_fields(a)
    panels: dict[str, list[GroupStats]] = {}
    colours: dict[str, str] = {}
    for g in a.groups:
        if g.n:
            panels.setdefault(_series_label(g, series_fields), []).append(g)
            colours.setdefault(_x_label(g, x_field), f"C{len(colours) % 10}")
    return x_field, series_fields, dict(list(panels.items())[:_MAX_PANELS]), colours


def _grid(n: int) -> tuple[int, int]:
    cols = min(3, n)
    return math.ceil(n / cols), cols


def _panel_axes(fig: Figure, n: int) -> list[Axes]:
    rows, cols = _grid(n)
    axes = fig.subplots(rows, cols, squeeze=False, sharey=True)
    flat: list[Axes] = [ax for row in axes for ax in row]
    for ax in flat[n:]:
        ax.set_visible(False)
    return flat[:n]


def _calibration(a: Analysis, path: Path) -> Path | None:
    x_field, series_fields, panels, colours = _panels(a)
    if not panels:
        return None
    rows, cols = _grid(len(panels))
    fig = _figure(6.6 * cols + 0.8, 4.0 * rows + 0.6)  # room for the legend beside each panel
    lowest = min(b.lower for gs in panels.values() for g in gs for b in g.calibration if b.n)
    # One scale for every marker of the figure: a bin of one judgment is drawn small in
    # every series, not as large as the biggest bin of a larger series.
    biggest = max(b.n for gs in panels.values() for g in gs for b in g.calibration)
    for ax, (title, groups) in zip(_panel_axes(fig, len(panels)), panels.items(), strict=True):
        lo = 0.45 if lowest >= 0.5 else 0.0
        ax.plot(
            [lo, 1.0],
            [lo, 1.0],
            linestyle="--",
            color="grey",
            linewidth=1,
            label="perfect calibration",
        )
        for g in groups:
            bins = [b for b in g.calibration if b.n and b.mean_confidence is not None]
            xs = [float(b.mean_confidence or 0.0) for b in bins]
            ys = [float(b.accuracy or 0.0) for b in bins]
            label = f"{_x_label(g, x_field)} (n={g.n}"
            label += f", ECE {g.ece:.3f})" if g.ece is not None else ")"
            colour = colours[_x_label(g, x_field)]
            ax.plot(xs, ys, linewidth=1.2, label=label, color=colour)
            ax.scatter(
                xs,
                ys,
                s=[12 + 300 * b.n / biggest for b in bins],
                color=colour,
                alpha=0.7,
                zorder=3,
            )
        ax.set_xlim(lo, 1.01)
        ax.set_ylim(*_Y_LIMITS)
        ax.set_xlabel("confidence max(p)")
        ax.set_ylabel("accuracy")
        ax.set_title(title if series_fields else "calibration", fontsize="medium")
        ax.grid(alpha=0.3)
        # Beside the panel, not on it: a legend inside would hide calibration points.
        ax.legend(
            fontsize="x-small", loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0
        )
    # Two short lines, so the title fits a single panel too.
    fig.suptitle(
        "Calibration, 10 equal-width bins of max(p)\n(marker area ∝ judgments in the bin)",
        fontsize="medium",
    )
    fig.savefig(path)
    return path


def _rounds(a: Analysis, path: Path) -> Path | None:
    from matplotlib.ticker import MaxNLocator

    x_field, series_fields, panels, colours = _panels(a)
    shown = {
        id(g): [s for s in g.by_rounds if s.accuracy is not None and s.n >= MIN_POINT_N]
        for gs in panels.values()
        for g in gs
    }
    if not any(shown.values()):
        return None
    rows, cols = _grid(len(panels))
    fig = _figure(4.4 * cols + 0.8, 3.8 * rows + 1.2)
    lows = [s.ci95[0] if s.ci95 else s.accuracy or 0.0 for ss in shown.values() for s in ss]
    y_low = math.floor(min(lows) * 10 - 0.5) / 10
    y_low = y_low if y_low > 0 else _Y_LIMITS[0]
    xs_all = [_as_float(s.value) for ss in shown.values() for s in ss]
    step = min(0.12, 0.5 / max(1, len(colours)))
    handles: dict[str, Any] = {}
    for ax, (title, groups) in zip(_panel_axes(fig, len(panels)), panels.items(), strict=True):
        for g in groups:
            slices = shown[id(g)]
            if not slices:
                continue
            name = _x_label(g, x_field)
            offset = (list(colours).index(name) - (len(colours) - 1) / 2) * step
            xs = [_as_float(s.value) + offset for s in slices]
            ys = [float(s.accuracy or 0.0) for s in slices]
            handles[name] = ax.errorbar(
                xs,
                ys,
                yerr=_errors(ys, [s.ci95 for s in slices]),
                marker="o",
                capsize=3,
                markersize=4,
                linewidth=1,
                color=colours[name],
                label=name,
            )
        ax.set_xlim(min(xs_all) - 0.6, max(xs_all) + 0.6)
        ax.set_ylim(y_low, _Y_LIMITS[1])
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("rounds seen by the judge (offline judgments)")
        ax.set_ylabel("accuracy")
        ax.set_title(title if series_fields else "accuracy by rounds", fontsize="medium")
        ax.grid(alpha=0.3)
    ordered = [n for n in colours if n in handles]
    fig.legend(
        [handles[n] for n in ordered],
        ordered,
        loc="outside lower center",
        ncols=min(len(ordered), 4),
        fontsize="small",
        title=x_field,
    )
    fig.suptitle(
        "Accuracy against rounds seen: separate offline judgments (e.g. rejudge --rounds), "
        f"not live beliefs\n{_intervals(a)}; "
        f"(round counts with fewer than {MIN_POINT_N} judgments are not drawn)",
        fontsize="medium",
    )
    fig.savefig(path)
    return path


def _as_float(v: Any) -> float:
    return float(v) if isinstance(v, int | float) else math.nan


def write_plots(a: Analysis, folder: Path) -> list[Path]:
    """Draw every plot that has data into ``folder``; the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = [
        _accuracy(a, folder / "accuracy.png"),
        _differences(a, folder / "differences.png"),
        _calibration(a, folder / "calibration.png"),
        _rounds(a, folder / "rounds.png"),
        tournament_plot(a, folder / "accuracy_vs_elo.png"),
        belief_plot(a, folder / "beliefs.png"),
    ]
    return [p for p in written if p is not None]
