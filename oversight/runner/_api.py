"""Running an experiment from Python: the same thing ``oversight run`` does."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict, Unpack

from rich.console import Console
from rich.markup import escape

from oversight.datasets import load_questions
from oversight.endpoints import Endpoint
from oversight.experiment import Experiment, check_experiment, load_experiment, with_limits
from oversight.experiment._judges import interactive, unattended
from oversight.runner._build import Endpoints, Factory
from oversight.runner._dry import (
    EndpointEstimate,
    estimate_endpoint,
    mock_factory,
    rehearsal_folder,
)
from oversight.runner._freeze import freeze, freeze_models, prompts_recorded, questions_hash
from oversight.runner._items import plan, split_parts
from oversight.runner._lock import run_lock
from oversight.runner._merge import merge_shards, shard_folders
from oversight.runner._meter import Meter, SpendEntry
from oversight.runner._progress import ProgressOption, display_for
from oversight.runner._prompts import recorded_prompts
from oversight.runner._replay import check_replay, replay_cache
from oversight.runner._run import Session
from oversight.runner._share import check_workers
from oversight.runner._status import RunResult
from oversight.runner._stress import rest_of_folder
from oversight.runner._summary import print_summary
from transcripts import JsonlLog, RunStore, total_cost
from transcripts.errors import ConfigError

__all__ = [
    "DryRun",
    "RunOptions",
    "check_options",
    "dry_run",
    "run_experiment",
    "run_experiment_async",
]

ExperimentLike = Experiment | str | os.PathLike[str]


def _experiment(source: ExperimentLike, **overrides: Any) -> Experiment:
    """The experiment with its ``[limits]`` overrides, every problem of both found (and
    reported at once) before anything is written."""
    if isinstance(source, Experiment):
        check_experiment(source)
        return with_limits(source, **overrides)
    return load_experiment(source, overrides=overrides)


def default_out(experiment: Experiment) -> Path:
    """The run folder when none is given: the file's ``out``, else ``runs/<name>``."""
    return experiment.out if experiment.out is not None else Path("runs") / experiment.name


class RunOptions(TypedDict, total=False):
    """The keyword options of :func:`run_experiment` and :func:`run_experiment_async`: the
    one list of them, each optional."""

    out: str | os.PathLike[str] | None
    """The run folder (default: the experiment's ``out``, else ``runs/<name>``); a folder
    that already holds this experiment's run is resumed."""
    max_cost_usd: float | None
    """Overrides ``[limits] max_cost_usd`` (e.g. a higher cap to resume a capped run)."""
    max_tokens: int | None
    """Overrides ``[limits] max_tokens``."""
    concurrency: int | None
    """Overrides ``[limits] concurrency``."""
    offline: bool
    """Answer every call from the cache and fail on a miss (default False)."""
    replay: str | os.PathLike[str] | None
    """Copy this run's response cache into ``out`` and run offline: an exact replay."""
    console: Console | None
    """Where progress and the summary are printed (default: the terminal)."""
    progress: ProgressOption
    """What is shown while the run works: None (default) a live progress bar in a terminal and
    a plain line every 10 s elsewhere; True the live bar; ``"lines"`` the plain lines; False
    nothing."""
    endpoint_factory: Factory | None
    """Replaces :func:`oversight.endpoint` (same signature; it receives the run's ``cache``
    and ``offline`` options), e.g. to script mock replies."""
    retry_failed: bool
    """Ask the judges of failed judgments again, with fresh calls (default False: a failed
    judgment is left as it is on a resume, since asking again would replay it from the
    cache)."""
    workers: int
    """Processes that share the items and the limits (default 1: this process alone;
    with N, this process runs one share and N - 1 workers, forked from a fork server, run
    the others). With more than one, ``endpoint_factory`` must be picklable and a script
    that calls :func:`run_experiment` must guard its top level with ``if __name__ ==
    "__main__":`` (a worker re-imports it, as with ``spawn``). With ``ray``: the number of
    Ray tasks (default: one per CPU of the cluster)."""
    ray: str | None
    """Run the items as tasks on the Ray cluster at this address (``auto``, ``local`` for a
    new one on this machine, ``HOST:PORT``; a cluster this process already joined is used
    as it is), each into its own store shard, merged into ``out`` (needs the ``ray``
    extra)."""


def check_options(function: str, given: Mapping[str, object], allowed: type) -> None:
    """Refuse keyword options a ``TypedDict`` of options does not name, as Python would."""
    unknown = sorted(set(given) - set(allowed.__annotations__))
    if unknown:
        raise TypeError(
            f"{function}() got unexpected keyword argument(s) {unknown}; "
            f"its options are: {', '.join(allowed.__annotations__)}"
        )


async def run_experiment_async(
    experiment: ExperimentLike, **options: Unpack[RunOptions]
) -> RunResult:
    """Run (or resume) ``experiment`` into ``out``; see :func:`run_experiment`."""
    check_options("run_experiment_async", options, RunOptions)
    exp = _experiment(
        experiment,
        max_cost_usd=options.get("max_cost_usd"),
        max_tokens=options.get("max_tokens"),
        concurrency=options.get("concurrency"),
    )
    out = options.get("out")
    folder = Path(out) if out is not None else default_out(exp)
    result, _ = await _run(
        exp,
        folder,
        offline=options.get("offline", False),
        replay=options.get("replay"),
        console=options.get("console") or Console(),
        progress=options.get("progress"),
        factory=options.get("endpoint_factory"),
        retry_failed=options.get("retry_failed", False),
        workers=options.get("workers"),
        ray=options.get("ray"),
    )
    return result


async def _run(
    exp: Experiment,
    folder: Path,
    *,
    offline: bool = False,
    replay: str | os.PathLike[str] | None = None,
    console: Console,
    progress: ProgressOption,
    rehearsal: bool = False,
    factory: Factory | None = None,
    retry_failed: bool = False,
    workers: int | None = None,
    ray: str | None = None,
    only: frozenset[str] | None = None,
) -> tuple[RunResult, dict[str, Endpoint]]:
    """One session; returns its result and the endpoints it made (by name or spec); with
    ``only``, the items of those conditions alone (one process: workers plan every item)."""
    display = display_for(progress, console)  # a bad value is refused before the folder is made
    if only is not None and (workers or ray is not None):
        raise ValueError("only runs in one process, without workers or ray")
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers must be at least 1 (got {workers})")
    if ((workers or 1) > 1 or ray is not None) and any(interactive(j) for j in exp.judges):
        raise ConfigError(
            "--workers and --ray need judges that need no person at this terminal (a human or "
            "interactive fallback judge asks in one terminal): run with --workers 1, or "
            "let the fallback judge queue for a later `oversight judge` session"
        )
    questions = load_questions(exp.dataset, exp.base_dir)
    split_parts(exp, questions)  # a [split] that does not fit is refused before the folder is made
    prompts = None  # what each role sends: recorded by a new run, compared by a replay
    if replay is not None or prompts_recorded(folder) is not False:
        prompts = await recorded_prompts(exp)  # a resume compares them with the run's
    if replay is not None:  # a bad --replay is refused before the folder is made
        note = check_replay(Path(replay), exp, questions_hash(questions), prompts)
        if note is not None:
            console.print(escape(note))
    await _refuse_unrunnable(exp, offline=offline or replay is not None, factory=factory)
    store = RunStore.create(folder)
    lock = run_lock(folder)
    try:
        freeze(store, exp, questions, prompts)
        cache: Path | bool = exp.cache if exp.cache is not None else folder / "cache.sqlite"
        if replay is not None:
            cache = replay_cache(Path(replay), folder)
            offline = True
        endpoints = Endpoints(exp, cache=cache, offline=offline, factory=factory)
        if shard_folders(folder):  # left by a Ray driver: merged before the spend is counted
            try:  # and the items planned, so nothing the shards did is paid for again
                merge_shards(store, endpoints.every(), say=lambda text: console.print(escape(text)))
            except BaseException:
                await endpoints.aclose()
                raise
        meter = Meter(
            max_cost_usd=exp.limits.max_cost_usd,
            max_tokens=exp.limits.max_tokens,
            ledger=JsonlLog(folder / "spend.jsonl", SpendEntry),
        )
        if display == "live" and any(interactive(j) for j in exp.judges):
            display = "lines"  # a person answers in this terminal: no live display over them
        every = list(plan(exp, questions))
        items = [i for i in every if only is None or i.condition.label in only]
        session = Session(
            exp,
            store,
            items,
            endpoints=endpoints,
            meter=meter,
            console=console,
            display=display,
            rehearsal=rehearsal,
            retry_failed=retry_failed,
        )
        made = endpoints.made
        quiet: dict[str, Any] = {"console": console, "display": "off", "status_file": False}
        try:
            endpoints.check_credentials()  # a missing key stops the run before any item
            if meter.max_cost_usd is not None:
                endpoints.check_priced()  # so does a cost cap that could not be held
            await asyncio.to_thread(freeze_models, store, exp, endpoints)
            meter.recover(endpoints.every())  # spend lines a kill cut off, from the cache
            if ray is not None:
                from oversight.runner._ray import run_ray  # only here: Ray's machinery

                if workers is not None:
                    check_workers(workers, exp, endpoints.every())
                result = await run_ray(
                    session,
                    address=ray,
                    shards=workers,
                    offline=offline,
                    factory=factory,
                    retry_failed=retry_failed,
                )
                return result, dict(made)
            workers = min(workers or 1, max(1, len(items)))
            if only is not None:  # the folder's other conditions: counted, never run
                rest = [i for i in every if i.condition.label not in only]
                others = Session(exp, store, rest, endpoints=endpoints, meter=meter, **quiet)
                return rest_of_folder(await session.run(), others, only), dict(made)
            if workers == 1:
                return await session.run(), dict(made)
            check_workers(workers, exp, endpoints.every())
            # Only here: a one-process run need not load the workers' machinery.
            from oversight.runner._workers import run_workers

            result = await run_workers(
                session,
                workers=workers,
                display=display,
                offline=offline,
                factory=factory,
                retry_failed=retry_failed,
            )
            return result, dict(made)
        finally:
            await endpoints.aclose()
            meter.close()
    finally:
        lock.release()
        store.close()


async def _refuse_unrunnable(exp: Experiment, *, offline: bool, factory: Factory | None) -> None:
    """A missing API key, or a cost cap no price lets the run hold, refused before the run
    folder is made: checked on endpoints made with a throwaway cache in a temporary folder
    (batched endpoints need one; nothing is written in the run folder), then closed.
    The run checks again on its own endpoints. Offline, nothing needs a key or costs."""
    if offline:
        return
    with tempfile.TemporaryDirectory(prefix="oversight-check-") as scratch:
        endpoints = Endpoints(exp, cache=Path(scratch) / "cache.sqlite", factory=factory)
        try:
            endpoints.check_credentials()
            if exp.limits.max_cost_usd is not None:
                endpoints.check_priced()
        finally:
            await endpoints.aclose()


def run_experiment(
    experiment: ExperimentLike, *, summary: bool = True, **options: Unpack[RunOptions]
) -> RunResult:
    """Run ``experiment`` (a file or an :class:`Experiment`) into ``out``, or resume it there.

    Completed items are never done again; interrupted items are re-run with their earlier
    calls answered by the run's response cache. The options are :class:`RunOptions`;
    ``summary`` prints where the run stands, what it cost and what to do next.
    """
    check_options("run_experiment", options, RunOptions)
    console = options["console"] = options.get("console") or Console()
    try:
        result = asyncio.run(run_experiment_async(experiment, **options))
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None  # a second Ctrl-C: stopped at once, status written
    if summary:
        print_summary(result, console)
    return result


def run_conditions(
    experiment: Experiment,
    conditions: frozenset[str],
    *,
    out: Path,
    console: Console,
    progress: ProgressOption = None,
    **limits: float | int | None,
) -> RunResult:
    """Run (or resume) ``experiment`` in ``out``, only the items of ``conditions``: the
    others keep what they have and nothing is sent for them. For a stress run begun with
    conditions that stress runs no longer run (:func:`~oversight.runner._stress.stress_resume`)."""
    exp = _experiment(experiment, **limits)
    try:
        result, _ = asyncio.run(_run(exp, out, console=console, progress=progress, only=conditions))
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None  # as in run_experiment
    return result


@dataclass
class DryRun:
    """What a dry run found: the pipeline's result on mocks, and the estimate per endpoint."""

    result: RunResult
    """The run on mock endpoints (into ``result.path``: the ``out`` given, else a temporary
    folder, already removed)."""
    endpoints: list[EndpointEstimate] = field(default_factory=list)
    """What the real run would send to each endpoint."""

    @property
    def cost_usd(self) -> float | None:
        """Estimated total; None when any endpoint's price is unknown."""
        return total_cost(e.cost_usd for e in self.endpoints)

    def to_json(self) -> dict[str, Any]:
        """As JSON data."""
        return {
            "folder": str(self.result.path),
            "status": self.result.status,
            "items": self.result.items_total,
            "endpoints": [
                {k: v for k, v in vars(e).items() if k != "price"} for e in self.endpoints
            ],
            "cost_usd": self.cost_usd,
        }


def dry_run(
    experiment: ExperimentLike,
    *,
    out: str | os.PathLike[str] | None = None,
    console: Console | None = None,
    progress: ProgressOption = False,
) -> DryRun:
    """Run the whole pipeline on mock endpoints and estimate the real run.

    The rehearsal runs into ``out`` (default: a temporary folder, removed once the estimate
    is made; give ``out`` to keep the rehearsal's store) with no caps and no
    person asked: human judges are left out and interactive fallback judges queue instead
    (their automatic judge still runs); see :mod:`oversight.runner._dry` for how calls,
    tokens and cost are estimated. It prints nothing unless ``progress`` asks (as in
    :class:`RunOptions`; default False): its progress counts the mock calls of the
    rehearsal, nothing sent.
    """
    exp = _experiment(experiment)
    limits = exp.limits.model_copy(update={"max_cost_usd": None, "max_tokens": None})
    rehearsal = exp.model_copy(update={"limits": limits, "judges": unattended(exp.judges)})
    rehearsal._source = exp.source
    with rehearsal_folder(exp.name, out) as folder:
        result, made = asyncio.run(
            _run(
                rehearsal,
                folder,
                console=console or Console(),
                progress=progress,
                rehearsal=True,
                factory=mock_factory(),
            )
        )
        order = [*exp.endpoints, *(name for name in made if name not in exp.endpoints)]
        estimates = [estimate_endpoint(exp, name, made[name]) for name in order if name in made]
    return DryRun(result=result, endpoints=estimates)
