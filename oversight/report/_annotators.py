"""The report's annotator table: per-person accuracy, calibration, time, attention checks,
and agreement between people (see :mod:`oversight.analysis._annotators`)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from oversight.analysis import AnnotatorTable
from oversight.report._markdown import _md_table
from oversight.report._tables import DASH, Table, ci, num, pct
from oversight.report._terminal import _rich
from transcripts import write_json_atomic

__all__ = ["annotator_tables", "print_annotators", "write_annotators"]


def _seconds(x: float | None) -> str:
    return DASH if x is None else f"{x:.0f} s"


def _with_ci(x: float | None, interval: tuple[float, float] | None) -> str:
    """``0.42 [0.10, 0.70]``, or the number alone without an interval."""
    return num(x) + (f" {ci(interval, scale=1, digits=2)}" if interval is not None else "")


def annotator_tables(t: AnnotatorTable) -> list[Table]:
    """The annotator table and the agreement table (empty when no person judged)."""
    if not t.annotators:
        return []
    people = Table(
        "Annotators",
        [
            "annotator",
            "judged",
            "skipped",
            "accuracy",
            "95% CI",
            "Brier",
            "95% CI",
            "ECE",
            "median time",
            "over time",
            "attention checks failed",
        ],
        numeric={1, 2, 3, 4, 5, 6, 7, 8, 9, 10},
        note="accuracy and Brier on transcripts with a gold answer; CIs over question "
        "sources, CR2 t below 50 of them, else the cluster bootstrap; an attention check "
        "fails without >50% on the obvious answer.",
    )
    outside = any(a.outside_study for a in t.annotators)
    if outside:
        people.headers.append("outside study")
        people.numeric.add(len(people.headers) - 1)
        people.note += (
            " outside study: judgments of transcripts not in the person's study list "
            "(counted in the other columns)."
        )
    for a in t.annotators:
        checks = (
            f"{a.attention_failures} of {a.attention_checks}" if a.attention_checks else DASH
        ) + (f" ({a.attention_skipped} skipped)" if a.attention_skipped else "")
        people.rows.append(
            [
                a.annotator,
                str(a.judgments),
                str(a.skipped),
                pct(a.accuracy),
                ci(a.accuracy_ci),
                num(a.brier),
                ci(a.brier_ci, scale=1, digits=3),
                num(a.ece),
                _seconds(a.median_time_s),
                str(a.over_time),
                checks,
                *([str(a.outside_study)] if outside else []),
            ]
        )
    tables = [people]
    if t.pairs or t.left_out_of_agreement:
        several = t.shared_units != t.shared_transcripts
        units = f" in {t.shared_units} units" if several else ""
        note = (
            "a unit is a transcript under one judge name and rounds shown: a person's "
            "verdicts are compared only with others' of the same unit; shared counts units."
            if several
            else ""
        )
        if t.left_out_of_agreement:
            note += (" " if note else "") + (
                f"{t.left_out_of_agreement} judgment(s) under judge names other than the "
                f"study's ({t.agreement_judge_name}) left out (counted above)."
            )
        agree = Table(
            f"Agreement between annotators ({t.shared_transcripts} shared transcripts{units}, "
            f"Krippendorff's alpha {_with_ci(t.alpha, t.alpha_ci)})",
            ["annotator A", "annotator B", "shared", "agreement", "95% CI", "Cohen's kappa"],
            numeric={2, 3, 4, 5},
            note=(note + " " if note else "")
            + "95% CIs over question sources: of kappa and alpha the jackknife t below 50 "
            "sources, of the agreement CR2 t, else the cluster bootstrap; none from one.",
        )
        for p in t.pairs:
            agree.rows.append(
                [
                    p.annotator_a,
                    p.annotator_b,
                    str(p.n),
                    pct(p.agreement),
                    ci(p.agreement_ci),
                    _with_ci(p.kappa, p.kappa_ci),
                ]
            )
        tables.append(agree)
    return tables


def print_annotators(t: AnnotatorTable, console: Console) -> None:
    """Print the annotator tables (nothing when no person judged)."""
    for table in annotator_tables(t):
        console.print(_rich(table))
        console.print()


def write_annotators(t: AnnotatorTable, folder: Path, markdown: Path | None) -> list[Path]:
    """``annotators.json`` in ``folder``, and the tables appended to ``markdown`` if given."""
    if not t.annotators:
        return []
    path = folder / "annotators.json"
    write_json_atomic(path, t.model_dump(mode="json"))
    if markdown is not None and markdown.exists():
        text = (
            markdown.read_text(encoding="utf-8").rstrip("\n")
            + "\n\n"
            + "\n\n".join(_md_table(table) for table in annotator_tables(t))
            + "\n"
        )
        tmp = markdown.with_name(f".{markdown.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(markdown)
    return [path]
