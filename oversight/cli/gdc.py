"""``oversight gdc RUN``: the generator–discriminator–critique gaps of a run's critiques.

Reads the critique conditions run with ``gdc = true`` and prints G, D, C and the gaps
GD = D − G, CD = D − C and GC = C − G with intervals by the report's rule (``--json``: the
documented JSON instead).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from oversight.cli._console import add_bootstrap_options

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> None:
    """Register ``gdc`` on the dispatcher's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "gdc",
        help="generator-discriminator-critique gaps of a run's critiques (Saunders et al.)",
        description=(
            "Generation, discrimination and critique accuracy of each critique condition run "
            "with gdc = true, and the gaps GD = D - G, CD = D - C and GC = C - G, with 95% "
            "intervals over question sources (CR2 below 50 sources, else the cluster "
            "bootstrap)."
        ),
    )
    parser.add_argument("run_dir", metavar="RUN", help="the run folder")
    parser.add_argument("--json", action="store_true", help="print the measurement as JSON")
    add_bootstrap_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Measure and print; 0 on success, 1 when the run holds no GDC measurement."""
    from rich.console import Console

    from oversight.analysis import gdc
    from oversight.report import print_gdc
    from transcripts import RunStore
    from transcripts.errors import ConfigError

    if args.bootstrap < 1:
        raise ConfigError(f"--bootstrap must be at least 1, got {args.bootstrap}")
    with RunStore.open(args.run_dir) as store:
        stats = gdc(store, n_bootstrap=args.bootstrap, seed=args.seed)
    none = (
        "no GDC measurement in this run: run a critique condition with "
        'options = { target = "planted", gdc = true } (or target = "given")'
    )
    if args.json:
        print(json.dumps([s.model_dump(mode="json") for s in stats], indent=2))
        if not stats:
            Console(stderr=True, highlight=False).print(none)
        return 0 if stats else 1
    console = Console(highlight=False, width=None if Console().is_terminal else 220)
    if not stats:
        console.print(none)
        return 1
    print_gdc(stats, console)
    return 0
