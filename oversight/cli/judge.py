"""``oversight judge RUN``: a human judging session in the terminal.

Without a study it serves the run's escalation queue (items a deferred fallback judge sent
to a person) and, with ``--all``, every transcript this person has not judged yet. With a
study (``--plan-study`` and its design options, or ``[human]`` in the experiment file) it
serves each person their own list (:mod:`judges.study`). Each judgment is saved the moment
it is given; quit with ``q`` (or Ctrl-C) and run the same command to resume.
"""

from __future__ import annotations

import argparse
from collections import Counter
from typing import TYPE_CHECKING, Any

from oversight.cli._person import INTERRUPTED, PersonSignals

if TYPE_CHECKING:
    from rich.console import Console

    from judges.session import Missing
    from judges.study import Study, StudyDesign
    from transcripts import RunStore

__all__ = ["add_parser", "run"]

_DESIGN_FLAGS = (
    "annotators",
    "assignment",
    "order",
    "target",
    "attention_checks",
    "attention_file",
    "conditions",
    "seed",
)


def add_parser(subparsers: Any) -> None:
    """Register ``judge`` on the dispatcher's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "judge",
        help="judge a run's transcripts yourself, in the terminal",
        description=(
            "A human judging session: you see each transcript as a judge may (no gold, no "
            "model names; answers in the order the speakers saw them) and give a probability "
            "per answer. Every answer is saved at once; quit with q and run the same command "
            "to resume. Several people may judge one run at once, each in their own terminal. "
            "Exit status: 0 when the session ends (nothing left, or q), 130 after Ctrl-C or a "
            "closed terminal (a verdict typed before a Ctrl-C at the reason prompt is saved; a "
            "second Ctrl-C does not cut its save short), 1 when an option or the run folder "
            "is refused, 2 when the command line does not parse."
        ),
    )
    parser.add_argument("run_dir", metavar="RUN", help="the run folder")
    parser.add_argument(
        "--annotator", help="your name, recorded with each judgment (asked for when not given)"
    )
    parser.add_argument(
        "--judge-name",
        default=None,
        help="judge name the judgments are filed under (default: human)",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--queue",
        action="store_true",
        help="only the escalation queue (the default without a study)",
    )
    which.add_argument(
        "--all",
        dest="everything",
        action="store_true",
        help="the queue, then every transcript you have not judged yet",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        metavar="K",
        help="show only the first K rounds of each transcript --all adds (a queued "
        "item is shown with the rounds its automatic judge saw)",
    )
    parser.add_argument(
        "--include-skipped", action="store_true", help="offer again the items you skipped before"
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=None,
        metavar="S",
        help="seconds per item, shown and recorded; later answers are marked",
    )
    study = parser.add_argument_group(
        "study design",
        "plan who judges what (saved once in RUN/study.json; see docs/guide/judges.md)",
    )
    study.add_argument(
        "--plan-study", action="store_true", help="plan the study (or show the saved one) and exit"
    )
    study.add_argument("--annotators", metavar="A,B,...", help="the pool of annotators, by name")
    study.add_argument(
        "--assignment",
        choices=("within", "between"),
        help="within: everyone judges everything; between: each person sees "
        "each question once, conditions balanced across people",
    )
    study.add_argument(
        "--order",
        choices=("interleaved", "random", "grouped"),
        help="order of each person's items (default: interleaved)",
    )
    study.add_argument(
        "--target",
        type=int,
        metavar="K",
        help="between: judgments wanted per transcript (default 1)",
    )
    study.add_argument(
        "--attention-checks",
        type=int,
        metavar="N",
        help="items with an obvious answer added to each person's list",
    )
    study.add_argument(
        "--attention-file",
        metavar="FILE",
        help="JSON Lines of attention-check questions (default: built in)",
    )
    study.add_argument(
        "--condition",
        dest="conditions",
        action="append",
        metavar="C",
        help="judge only this condition (repeat for several)",
    )
    study.add_argument("--seed", type=int, help="seed of the assignment (default 0)")
    parser.set_defaults(handler=run)


def _design(args: argparse.Namespace, store: RunStore) -> StudyDesign | None:
    """The design from the options, else from ``[human]`` of the run's experiment, else None."""
    from pydantic import ValidationError

    from judges.study import StudyDesign
    from transcripts.errors import ConfigError

    given = {
        name: getattr(args, name) for name in _DESIGN_FLAGS if getattr(args, name, None) is not None
    }
    if args.time_limit is not None and given:
        given["time_limit_s"] = args.time_limit
    if args.rounds is not None and given:
        given["rounds"] = args.rounds
    if args.judge_name is not None and given:
        given["judge_name"] = args.judge_name
    if given:
        if "annotators" not in given:
            flags = ", ".join(_flag(name) for name in _DESIGN_FLAGS if name in given)
            one = "," not in flags
            raise ConfigError(
                f"{flags} {'is an option' if one else 'are options'} of a study's design, "
                f"and a study needs its pool: --annotators alice,bob,... (with --plan-study "
                f"to plan it); to judge without a study, drop {flags}"
            )
        given["annotators"] = [a for a in str(given["annotators"]).split(",") if a.strip()]
        source = "the study options"
    else:
        frozen = store.read_json("experiment.json") or {}
        given = (frozen.get("spec") or {}).get("human") or {}
        source = f"[human] of {store.path / 'experiment.json'}"
        if not given:
            return None
    try:
        return StudyDesign.model_validate(given)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'design'}: {e['msg']}" for e in err.errors()
        )
        raise ConfigError(f"{source}: {problems}") from err


def _flag(name: str) -> str:
    """The option that sets design field ``name`` (``conditions`` -> ``--condition``)."""
    return "--condition" if name == "conditions" else "--" + name.replace("_", "-")


def run(args: argparse.Namespace) -> int:
    """Plan the session from the run folder and serve it; 130 after Ctrl-C (raised as
    :class:`KeyboardInterrupt`) or a closed terminal (:mod:`oversight.cli._person`)."""
    # Imported here: `oversight --help` and `judge --help` need none of the session.
    from rich.console import Console

    console = Console(highlight=False)
    with PersonSignals(console) as signals:
        code = _session(args, console)
    return INTERRUPTED if signals.hung_up else code


def _session(args: argparse.Namespace, console: Console) -> int:
    from rich.markup import escape

    from judges.human import HumanJudge
    from judges.session import plan, serve
    from judges.study import STUDY_FILE, open_study
    from transcripts import RunStore
    from transcripts.errors import ConfigError

    if args.rounds is not None and args.rounds < 0:
        raise ConfigError(f"--rounds must be 0 or more, got {args.rounds}")
    store = RunStore.open(args.run_dir)
    study = open_study(store, _design(args, store))
    if args.plan_study:
        if study is None:
            raise ConfigError(
                "no study to show: plan one with --plan-study --annotators "
                "alice,bob [--assignment between ...]"
            )
        print_study(console, store, study)
        return 0
    if study is not None and args.everything:
        raise ConfigError(
            f"this run has a study ({store.path / STUDY_FILE}); your items come "
            f"from it: run without --all (or --queue for the escalation queue)"
        )
    use_study = study if study is not None and not args.queue else None
    if use_study is not None and not any(getattr(args, f, None) is not None for f in _DESIGN_FLAGS):
        fixed = [
            flag
            for flag, value in (
                ("--rounds", args.rounds),
                ("--time-limit", args.time_limit),
                ("--judge-name", args.judge_name),
            )
            if value is not None
        ]
        if fixed:
            raise ConfigError(
                f"{', '.join(fixed)}: this run's study ({store.path / STUDY_FILE}) "
                f"fixes rounds, time limit and judge name for everyone; drop "
                f"{'them' if len(fixed) > 1 else 'it'}"
            )
    if use_study is None and not args.everything and args.rounds is not None:
        raise ConfigError(
            f"--rounds {args.rounds} applies to the transcripts --all adds: a queued item is "
            f"shown with the rounds its automatic judge saw; add --all, or drop --rounds"
        )
    # Stripped as the judge records it, so the plan finds what this name already judged.
    annotator = args.annotator.strip() if args.annotator is not None else _ask_name(console)
    judge_name = (
        use_study.design.judge_name if use_study is not None else args.judge_name or "human"
    )
    time_limit = use_study.design.time_limit_s if use_study is not None else args.time_limit
    judge = HumanJudge(
        annotator=annotator, name=judge_name, console=console, time_limit_s=time_limit
    )
    items = plan(
        store,
        annotator=annotator,
        judge_name=judge_name,
        everything=args.everything,
        rounds=args.rounds,
        include_skipped=args.include_skipped,
        study=use_study,
    )
    missing = items.missing
    who = escape(annotator)
    if missing:
        _print_missing(console, store, missing)
    if not items:
        if use_study is not None:
            console.print(
                f"Nothing else to judge for {who} now; your study list is not done "
                f"until the {len(missing)} item(s) above can be shown."
                if missing
                else f"Nothing left to judge for {who}: your study list is done."
            )
            return 0
        hint = (
            ""
            if args.everything
            else " Run without --queue for your study list."
            if study is not None
            else " Use --all to judge every transcript of the run."
        )
        console.print(
            f"Nothing to judge for {who}: the queue is empty"
            f"{' and every transcript is judged' if args.everything else ''}.{hint}"
        )
        return 0
    done = items[0].total - len(items) - len(missing)
    console.print(
        f"{who}: {len(items)} item(s) to judge"
        + (f" ({done} of {items[0].total} done)" if done else "")
        + ". For each, give a probability per answer (e.g. 70 30) or a letter and your "
        "confidence (e.g. A 80); s skips, q quits. Each answer is saved at once."
    )
    result = serve(store, judge, items)
    store.close()
    busy = f", {result.busy} open elsewhere" if result.busy else ""
    console.print(
        f"Session over: {result.judged} judged, {result.skipped} skipped{busy}, "
        f"{result.remaining} left"
        + (f", {len(missing)} that cannot be shown (see above)" if missing else "")
        + "."
        + (" Run the same command to continue." if result.remaining else "")
    )
    return 0


_LISTED = 10
"""Missing items a message names one by one (the rest are counted)."""


def _print_missing(console: Console, store: RunStore, missing: list[Missing]) -> None:
    """Say which items of the person's study list cannot be shown, why, and what to do."""
    from rich.markup import escape

    from judges.study import STUDY_FILE

    named = ", ".join(f"item {m.number} ({escape(m.transcript_id)})" for m in missing[:_LISTED])
    more = f" and {len(missing) - _LISTED} more" if len(missing) > _LISTED else ""
    console.print(
        f"[yellow]{len(missing)} item(s) of your study list cannot be shown[/yellow]: "
        f"{named}{more}: the {missing[0].reason} "
        f"({escape(str(store.path / 'transcripts.jsonl'))}). They are not counted as done; "
        f"restore those transcripts (from the run the study was planned in), or plan a "
        f"new study in a copy of the run without its {STUDY_FILE}."
    )


def print_study(console: Console, store: RunStore, study: Study) -> None:
    """The study's design, each person's list and progress, and coverage."""
    from rich.markup import escape
    from rich.table import Table

    from judges.session import study_progress
    from judges.study import STUDY_FILE, forced_gold_spread

    d = study.design
    console.print(
        f"Study in {escape(str(store.path / STUDY_FILE))}: {d.assignment}, order "
        f"{d.order}, seed {d.seed}"
        + (f", target {d.target} per transcript" if d.assignment == "between" else "")
        + (f", time limit {d.time_limit_s:g} s" if d.time_limit_s else "")
    )
    conditions = sorted({s.condition for slots in study.assignments.values() for s in slots})
    progress = study_progress(store, study)
    missing = {a: p.missing for a, p in progress.items() if p.missing}
    table = Table(
        "annotator", "items", *map(escape, conditions), "done", *(["missing"] if missing else [])
    )
    for annotator, slots in study.assignments.items():
        counts = Counter(s.condition for s in slots)
        table.add_row(
            escape(annotator),
            str(len(slots)),
            *(str(counts[c]) for c in conditions),
            str(progress[annotator].done),
            *([str(len(progress[annotator].missing))] if missing else []),
        )
    console.print(table)
    if missing:
        listed = "; ".join(
            f"{escape(a)}: items {', '.join(str(m.number) for m in ms[:_LISTED])}"
            + (f" and {len(ms) - _LISTED} more" if len(ms) > _LISTED else "")
            for a, ms in missing.items()
        )
        console.print(
            f"[yellow]{sum(map(len, missing.values()))} item(s) of the study lists are "
            f"missing from the run[/yellow] (not done, and their transcripts are not in "
            f"{escape(str(store.path / 'transcripts.jsonl'))}: {listed}); restore those "
            f"transcripts (from the run the study was planned in), or plan a new study in "
            f"a copy of the run without its {STUDY_FILE}."
        )
    targets = study.targets()
    forced = forced_gold_spread(
        study,
        store.transcripts.read(e for e in store.transcripts.latest_entries() if e.id in targets),
    )
    if forced:
        console.print(
            f"[yellow]Gold positions two apart:[/yellow] {escape(forced)}. To avoid it, plan "
            f"a study that chooses an even number of transcripts (one question more or "
            f"fewer, or another --target or pool of --annotators)."
        )
    known = set(targets) | set(study.left_out)
    # From the index (id, status and condition of each transcript): none is read.
    newer = [
        i
        for i, status, condition in store.transcripts.index_values("id", "status", "c", latest=True)
        if status == "complete"
        and (not d.conditions or condition in d.conditions)
        and i not in known
    ]
    if newer:
        console.print(
            f"[yellow]{len(newer)} transcript(s) of the run came after the study was "
            f"planned and are not in it[/yellow] (to include them, plan a new study in "
            f"a copy of the run without its {STUDY_FILE})."
        )
    console.print(
        f"{len(targets)} transcripts assigned ({sum(targets.values())} judgments); "
        f"{len(study.left_out)} left out"
        + (
            " (each question has more transcripts than the pool can cover under "
            "'between'; add annotators to cover them)"
            if study.left_out
            else "."
        )
    )


def _ask_name(console: Console) -> str:
    """The annotator's name, asked until one is given."""
    from transcripts.errors import ConfigError

    while True:
        try:
            name = console.input("Your name (recorded with each judgment): ", markup=False)
        except EOFError as err:
            raise ConfigError("no annotator name given; pass --annotator NAME") from err
        if name.strip():
            return name.strip()
