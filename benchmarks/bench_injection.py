"""How often the injection detector flags benign text: its false-positive rate.

Run from the repository root (the dataset sits next to the repository)::

    .venv/bin/python benchmarks/bench_injection.py [--data ../shared/data/nyu-debate]

Two benign corpora, read with :func:`transcripts.injection.detect_injection` exactly as
``oversight show`` and the report read them (speaker turns only, judges' own turns never):

1. the NYU human debates (Michael et al. 2023), imported with ``oversight import``: people
   arguing honestly or dishonestly to a human judge, with no attempt at prompt injection;
2. the quickstart experiment run on its mock endpoints (every protocol).

Every flag on them is a false positive. Printed: speaker turns, flagged turns and the rate,
per kind, and transcripts with at least one flag, plus a few flagged excerpts to read.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from collections import Counter
from pathlib import Path

from transcripts import RunStore
from transcripts.injection import detect_injection

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared/data/nyu-debate"


def measure(run: Path) -> tuple[dict[str, int], Counter[str], list[str]]:
    """Counts over a run folder: turns, flagged turns, transcripts; flags per kind; examples."""
    store = RunStore.open(run)
    counts = {"transcripts": 0, "flagged_transcripts": 0, "turns": 0, "flagged_turns": 0}
    kinds: Counter[str] = Counter()
    examples: list[str] = []
    for transcript in store.transcripts.latest():
        counts["transcripts"] += 1
        flagged = False
        for turn in transcript.turns:
            if turn.role == "judge":
                continue
            counts["turns"] += 1
            flags = detect_injection(turn.content)
            if flags:
                flagged = True
                counts["flagged_turns"] += 1
                kinds.update({f.kind for f in flags})
                if len(examples) < 8:
                    examples.append(f"{flags[0].kind}: {flags[0].text!r}")
        counts["flagged_transcripts"] += int(flagged)
    store.close()
    return counts, kinds, examples


def _report(name: str, counts: dict[str, int], kinds: Counter[str], examples: list[str]) -> None:
    turns, transcripts = max(counts["turns"], 1), max(counts["transcripts"], 1)
    turn_rate = 100 * counts["flagged_turns"] / turns
    transcript_rate = 100 * counts["flagged_transcripts"] / transcripts
    print(
        f"| {name} | {counts['turns']:,} | {counts['flagged_turns']} ({turn_rate:.2f}%) | "
        f"{counts['transcripts']:,} | {counts['flagged_transcripts']} "
        f"({transcript_rate:.1f}%) | "
        f"{', '.join(f'{k} {n}' for k, n in sorted(kinds.items())) or '-'} |"
    )
    for example in examples:
        print(f"    e.g. {example}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    from oversight.runner import run_experiment
    from transcripts.importers.nyu import import_nyu_debate

    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs")
    print(
        "| corpus | speaker turns | flagged (false positives) | transcripts | flagged "
        "transcripts | flags by kind |"
    )
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="oversight-injection-") as folder:
        nyu = Path(folder) / "nyu"
        import_nyu_debate(args.data, out=nyu)
        _report("NYU human debates", *measure(nyu))
        mock = Path(folder) / "quickstart"
        run_experiment(ROOT / "examples/quickstart.toml", out=mock, progress=False, summary=False)
        _report("quickstart on mocks", *measure(mock))


if __name__ == "__main__":
    main()
