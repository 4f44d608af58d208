"""``oversight plan``: questions and sources needed to detect a difference in accuracy.

Assumptions come from the flags or from a pilot run (``--pilot RUN --condition C``): the
baseline accuracy, the intraclass correlation (ICC) of question scores within a source and
the questions per source; with ``--paired --compare A`` also how often the two conditions
score a question differently; judged by two or more people, also the annotators' ICC and
judgments per annotator (``--annotator-icc``, ``--questions-per-annotator``). See
:mod:`oversight.analysis._power` for the formulas.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> None:
    """Register ``plan`` on the dispatcher's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "plan",
        help="power planning: questions and sources needed to detect a difference",
        description=(
            "Questions and sources per condition needed to detect a difference in accuracy "
            "at a given power, unclustered and with clustering by source (design effect "
            "1 + (m - 1) ICC) and, for people, by annotator (+ (m_a - 1) annotator ICC, "
            "people recruited in proportion, m_a questions each; paired by different people, "
            "that term is not reduced by the pairing), from assumed values or a pilot run."
        ),
    )
    parser.add_argument(
        "--difference",
        type=float,
        required=True,
        metavar="D",
        help="difference in accuracy to detect, e.g. 0.10 for +10 points",
    )
    parser.add_argument("--power", type=float, default=0.8, help="default: 0.8")
    parser.add_argument("--alpha", type=float, default=0.05, help="two-sided, default: 0.05")
    parser.add_argument(
        "--baseline-accuracy",
        type=float,
        default=None,
        metavar="P",
        help="accuracy of the baseline condition (default 0.7, or the pilot's)",
    )
    parser.add_argument(
        "--icc",
        type=float,
        default=None,
        help="ICC of question scores within a source (default 0, or the pilot's)",
    )
    parser.add_argument(
        "--questions-per-source",
        type=float,
        default=None,
        metavar="M",
        help="questions per source (default 1, or the pilot's)",
    )
    parser.add_argument(
        "--annotator-icc",
        type=float,
        default=None,
        help="share of the score variance between annotators (people; default 0, or the "
        "pilot's with two or more annotators)",
    )
    parser.add_argument(
        "--questions-per-annotator",
        type=float,
        default=None,
        metavar="M_A",
        help="questions each annotator judges (default 1, or the pilot's judgments per annotator)",
    )
    parser.add_argument(
        "--paired", action="store_true", help="both conditions judge the same questions"
    )
    parser.add_argument(
        "--same-people",
        action="store_true",
        help="with --paired: one person judges each question in both conditions, so their "
        "skill cancels (default: different people per condition)",
    )
    parser.add_argument(
        "--discordance",
        type=float,
        default=None,
        help="paired: share of questions the conditions score differently",
    )
    parser.add_argument(
        "--pilot", metavar="RUN", default=None, help="estimate the assumptions from this run folder"
    )
    parser.add_argument(
        "--condition",
        default=None,
        help="with --pilot: the pilot's baseline condition (default: unassisted)",
    )
    parser.add_argument(
        "--compare",
        default=None,
        metavar="A",
        help="with --pilot --paired: the other condition, for the discordance",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the plan; 0 on success."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from oversight.analysis import pilot_inputs, plan_sample_size
    from transcripts.errors import ConfigError

    if args.compare is not None and not (args.pilot and args.paired):
        raise ConfigError(
            "--compare needs --pilot RUN and --paired: it names the pilot's other condition, "
            "for the paired discordance (without a pilot, give --discordance)"
        )
    if args.condition is not None and not args.pilot:
        raise ConfigError(
            "--condition names the pilot's condition: give --pilot RUN (without a pilot, "
            "give the baseline with --baseline-accuracy)"
        )
    console = Console(highlight=False)
    baseline, icc, m = args.baseline_accuracy, args.icc, args.questions_per_source
    discordance = args.discordance
    icc_a, m_a = args.annotator_icc, args.questions_per_annotator
    if args.pilot:
        pilot = pilot_inputs(
            args.pilot, condition=args.condition or "unassisted", other=args.compare
        )
        baseline = pilot.baseline_accuracy if baseline is None else baseline
        icc = pilot.icc if icc is None else icc
        m = pilot.questions_per_source if m is None else m
        discordance = pilot.discordance if discordance is None else discordance
        if icc_a is None and pilot.n_annotators >= 2 and pilot.questions_per_annotator > 1:
            icc_a = pilot.annotator_icc  # else the pilot says nothing of people's variance
        m_a = pilot.questions_per_annotator if m_a is None else m_a
        console.print(
            f"pilot {escape(args.pilot)}: {escape(pilot.condition)} on {pilot.n_questions} "
            f"questions, accuracy {pilot.baseline_accuracy:.3f}, ICC {pilot.icc:.3f}, "
            f"{pilot.questions_per_source:.1f} questions per source"
            + (f", discordance {pilot.discordance:.3f}" if pilot.discordance is not None else "")
            + (
                f"; {pilot.n_annotators} annotators, annotator ICC {pilot.annotator_icc:.3f}, "
                f"{pilot.questions_per_annotator:.1f} judgments per annotator"
                if pilot.n_annotators >= 2
                else ""
            )
        )
    plan = plan_sample_size(
        args.difference,
        baseline_accuracy=0.7 if baseline is None else baseline,
        power=args.power,
        alpha=args.alpha,
        icc=0.0 if icc is None else icc,
        questions_per_source=1.0 if m is None else m,
        paired=args.paired,
        discordance=discordance,
        annotator_icc=icc_a,
        questions_per_annotator=1.0 if m_a is None else m_a,
        same_people=args.same_people,
    )
    table = Table(
        title=f"{plan.design.capitalize()} comparison: {100 * plan.difference:+z.1f} "
        f"points over {100 * plan.baseline_accuracy:.1f}% at {100 * plan.power:.0f}% "
        f"power, alpha {plan.alpha:g}"
    )
    people = plan.annotators is not None
    columns = ["", "questions per condition", "sources per condition"]
    for column in columns + (["annotators per condition"] if people else []):
        table.add_column(column, justify="right" if column else "left")
    table.add_row("independent questions", str(plan.questions_unclustered), "—", *"—"[:people])
    by_people = (
        f", {plan.questions_per_annotator:.1f} per annotator, annotator ICC "
        f"{plan.annotator_icc:.2f}"
        if people
        else ""
    )
    table.add_row(
        f"{plan.questions_per_source:.1f} per source, ICC {plan.icc:.2f}{by_people} "
        f"(design effect {plan.design_effect:.2f})",
        str(plan.questions),
        str(plan.sources),
        *([str(plan.annotators)] if people else []),
    )
    console.print(table)
    if people:
        design = (
            "the same person judges a question in both conditions (--same-people): their "
            "skill cancels, and the annotator term allows for how much the condition helps "
            "each person differently, which a one-condition pilot cannot show"
            if plan.same_people
            else "different people per condition"
            + ("; the pairing does not reduce their variance" if plan.design == "paired" else "")
        )
        console.print(
            "annotators: each judges the questions per annotator above, so recruit people in "
            "proportion; a fixed panel's annotator variance does not shrink with more "
            f"questions. Assumed: {design}."
        )
    return 0
