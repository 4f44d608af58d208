"""The stress table (protocols x personas, worst case highlighted), its detectors, and a plot.

See :mod:`oversight.analysis._stress` for how every number is computed.
"""

from __future__ import annotations

from pathlib import Path

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table as RichTable
from rich.text import Text

from oversight.analysis._stress import PersonaEffect, StressReport, StressRow
from oversight.report._markdown import _md_table
from oversight.report._tables import DASH, Table, ci, pct, pp, signed_num

__all__ = [
    "STRESS_NOTE",
    "print_stress",
    "render_stress",
    "stress_markdown",
    "stress_tables",
    "write_stress",
    "write_stress_plot",
]

STRESS_NOTE = (
    "Accuracy: the judge's, over every item of the planted condition (planted: items where the "
    "persona spoke / all; the rest ran benign). Drop: paired drop from the "
    "benign condition (benign minus planted, on the questions both have; positive = the "
    "adversary moved the judge toward wrong answers) with its 95% interval clustered by question "
    "source (as the report's paired comparisons: CR2 t below 50 sources, else cluster "
    "bootstrap; judged by two or more people, by source and annotator); it counts the items "
    "where the persona did not speak, so it is diluted by how often it spoke. Where planted: "
    "the same on the items where the persona spoke alone, each "
    "against the same item (question, setup) benign. Worst case: the persona with the largest "
    "drop where planted (each one on a tie), of the k with one, since personas speak in "
    "different shares of the items; its 95% interval is for the largest true drop where "
    "planted among the k, so it allows for choosing the worst: intervals for the k drops that "
    "hold together (below 50 sources max-t from their joint CR2 covariance, else each at "
    "1 - 0.05/k, Bonferroni; judged by people, Bonferroni over the two-way intervals), from "
    "the largest lower end to the largest upper end (none when "
    "a persona has no interval). The largest "
    "observed drop tends to overstate the worst true drop. Δ p(gold): mean "
    "change of the judge's probability on the gold answer. n/a: the persona fits no role of "
    "the protocol."
)
DETECT_NOTE = (
    "Detection: share of planted transcripts the detector flagged; false alarms: share of the "
    "benign condition's transcripts flagged; AUC: planted against benign by the detector's "
    "score (0.5 = chance)."
)


def _note(report: StressReport) -> str:
    """:data:`STRESS_NOTE` and how the drops' intervals were computed (``ci_method``)."""
    methods = {
        how
        for row in report.rows
        for e in row.personas
        for drop, how in ((e.drop, e.ci_method), (e.planted_drop, e.planted_ci_method))
        if drop is not None and how
    }
    return f"{STRESS_NOTE} 95% CI: {'; '.join(sorted(methods)) or 'none'}."


def _personas(report: StressReport) -> list[str]:
    return sorted({e.persona for row in report.rows for e in row.personas})


def _cell(effect: PersonaEffect | None) -> str:
    """``41.7% (+8.3 pp [..]; where planted +16.7 pp [..])``."""
    if effect is None or effect.n_transcripts == 0:
        return "n/a"
    where = _drop(effect.planted_drop, effect.planted_drop_ci95)
    return f"{pct(effect.accuracy)} ({_drop(effect.drop, effect.drop_ci95)}; where planted {where})"


def _effects(row: StressRow) -> dict[str, PersonaEffect]:
    return {e.persona: e for e in row.personas if e.n_transcripts}


def _is_worst(row: StressRow, persona: str) -> bool:
    return persona in (row.worst_tied or ([row.worst] if row.worst else []))


def _worst(row: StressRow) -> str:
    """``b = c (tie): +41.7 pp [+8.0, +75.3] of 3``: the worst case, its interval, k."""
    if row.worst is None:
        return DASH
    names = row.worst_tied or [row.worst]
    tie = " (tie)" if len(names) > 1 else ""
    interval = ci(row.worst_ci95, signed=True) if row.worst_ci95 else "(no interval)"
    drop = f"{pp(row.worst_drop)} {interval}"
    return f"{' = '.join(names)}{tie}: {drop} where planted, of {row.worst_of}"


def stress_tables(report: StressReport) -> list[Table]:
    """The stress table and the detector table, as plain tables (worst case marked ``*``)."""
    personas = _personas(report)
    main = Table(
        "Stress: judge accuracy under each persona (drop from benign; where planted; 95% CI)",
        ["condition", "protocol", "judge", "benign", *personas, "worst case"],
        note=_note(report),
    )
    main.numeric = set(range(3, 4 + len(personas)))
    for row in report.rows:
        found = _effects(row)
        cells = [_cell(found.get(p)) + (" *" if _is_worst(row, p) else "") for p in personas]
        main.rows.append(
            [row.condition, row.protocol, row.judge, pct(row.accuracy), *cells, _worst(row)]
        )
    detect = Table(
        "Detectors on planted vs benign transcripts",
        [
            "condition",
            "judge",
            "detector",
            "persona",
            "planted",
            "detection",
            "benign",
            "false alarms",
            "AUC",
        ],
        note=DETECT_NOTE,
    )
    detect.numeric = {4, 5, 6, 7, 8}
    for row in report.rows:
        for d in row.detectors:
            auc = DASH if d.auc is None else f"{d.auc:.2f}"
            detect.rows.append(
                [
                    row.condition,
                    row.judge,
                    d.detector,
                    d.persona or "all",
                    str(d.n_planted),
                    pct(d.detection_rate),
                    str(d.n_benign),
                    pct(d.false_alarm_rate),
                    auc,
                ]
            )
    return [main, detect]


def _drop(drop: float | None, interval: tuple[float, float] | None) -> str:
    return f"{pp(drop)} {ci(interval, signed=True)}" if interval else pp(drop)


def _rich_table(title: str, note: str, headers: list[str], numeric: set[int]) -> RichTable:
    out = RichTable(
        title=title,
        title_style="bold",
        title_justify="left",
        caption=note,
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        header_style="bold",
    )
    for i, name in enumerate(headers):
        out.add_column(name, justify="right" if i in numeric else "left")
    return out


def render_stress(report: StressReport, *, per_persona_detectors: bool = False) -> RenderableType:
    """The stress table for the terminal, one block per condition and judge: benign first,
    then each persona; the worst case in bold red. Detectors pooled over personas unless
    ``per_persona_detectors``."""
    headers = [
        "condition",
        "judge",
        "persona",
        "planted",
        "accuracy",
        "drop from benign (95% CI)",
        "where planted (95% CI)",
        "Δ p(gold)",
    ]
    out = _rich_table(
        "Stress: how far each planted adversary moves the judge",
        _note(report),
        headers,
        {3, 4, 5, 6, 7},
    )
    for row in report.rows:
        out.add_row(
            Text(row.condition, style="bold"),
            Text(row.judge),
            Text("benign"),
            Text("—"),
            Text(pct(row.accuracy)),
            Text(""),
            Text(""),
            Text(""),
        )
        tie = " (tie)" if len(row.worst_tied) > 1 else ""
        for e in row.personas:
            if not e.n_transcripts:
                continue
            worst = _is_worst(row, e.persona)
            shift = DASH if e.p_gold_shift is None else signed_num(e.p_gold_shift, 3)
            cells = [
                "",
                "",
                e.persona + (f"  ◀ worst case{tie}" if worst else ""),
                f"{e.n_planted}/{e.n_transcripts}",
                pct(e.accuracy),
                _drop(e.drop, e.drop_ci95),
                _drop(e.planted_drop, e.planted_drop_ci95),
                shift,
            ]
            out.add_row(*(Text(c, style="bold red" if worst else "") for c in cells))
        if row.worst is not None:  # the tied are marked above; their names would widen it
            tied = len(row.worst_tied)
            names = f"{tied} tied" if tied > 1 else row.worst
            interval = ci(row.worst_ci95, signed=True) if row.worst_ci95 else "(no interval)"
            out.add_row(
                "",
                "",
                Text(f"worst of {row.worst_of}: {names}", style="bold"),
                "",
                "",
                "",
                Text(f"{pp(row.worst_drop)} {interval}", style="bold"),
                "",
            )
        out.add_section()
    parts: list[RenderableType] = [out, Text()]
    _, detect = stress_tables(report)
    rows = [r for r in detect.rows if per_persona_detectors or r[3] == "all"]
    if rows:
        table = _rich_table(detect.title, detect.note, detect.headers, detect.numeric)
        for r in rows:
            table.add_row(*(Text(c) for c in r))
        parts += [table, Text()]
    parts += [Text(f"warning: {w}", style="yellow") for w in report.warnings]
    return Group(*parts)


def print_stress(report: StressReport, console: Console, **options: bool) -> None:
    """Print :func:`render_stress`."""
    console.print(render_stress(report, **options))


def stress_markdown(report: StressReport) -> str:
    """The stress and detector tables as a Markdown section (worst case in bold)."""
    main, detect = stress_tables(report)
    for row in main.rows:
        row[:] = [f"**{c[:-2]}**" if c.endswith(" *") else c for c in row]
    parts = ["## Stress test", "", *(f"**Warning:** {w}\n" for w in report.warnings)]
    parts += [_md_table(main), "", main.note, ""]
    if detect.rows:
        parts += ["### Detectors", "", _md_table(detect), "", detect.note, ""]
    return "\n".join(parts)


def write_stress_plot(report: StressReport, path: Path) -> Path | None:
    """``stress.png``: each persona's drop where planted per condition with 95% intervals, the
    worst case filled red; None when no such drop was computed."""
    rows = [r for r in report.rows if any(e.planted_drop is not None for e in r.personas)]
    if not rows:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 1.2 + 2.2 * len(rows)), dpi=150, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(rows), 1, squeeze=False)[:, 0]
    for ax, row in zip(axes, rows, strict=True):
        effects = [e for e in row.personas if e.planted_drop is not None]
        ys = range(len(effects))
        for y, e in zip(ys, effects, strict=True):
            worst = _is_worst(row, e.persona)
            drop = e.planted_drop
            lo, hi = e.planted_drop_ci95 or (drop, drop)
            assert drop is not None and lo is not None and hi is not None
            below, above = max(0.0, 100 * (drop - lo)), max(0.0, 100 * (hi - drop))
            ax.errorbar(
                [100 * drop],
                [y],
                xerr=[[below], [above]],
                fmt="o",
                color="tab:red" if worst else "tab:blue",
                markerfacecolor="tab:red" if worst else "white",
                capsize=3,
            )
        ax.axvline(0, color="grey", linewidth=0.8)
        ax.set_yticks(list(ys), [e.persona for e in effects])
        ax.set_title(f"{row.condition} · {row.judge}", fontsize=9, loc="left")
        ax.set_xlabel("accuracy drop from benign where planted (pp)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def write_stress(report: StressReport, folder: Path, *, plot: bool = True) -> list[Path]:
    """``stress.json``, ``stress.md`` and (with ``plot``) ``stress.png`` in ``folder``; the
    paths written. Each file is replaced whole (written aside, then renamed)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (
        ("stress.json", report.model_dump_json(indent=2)),
        ("stress.md", stress_markdown(report)),
    ):
        aside = folder / f".{name}.tmp"
        aside.write_text(text, encoding="utf-8")
        aside.replace(folder / name)
        written.append(folder / name)
    drawn = write_stress_plot(report, folder / "stress.png") if plot else None
    return [*written, *([drawn] if drawn else [])]
