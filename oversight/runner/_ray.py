"""``oversight run EXP --ray ADDRESS``: the items of one run over a Ray cluster.

Needs the optional extra: ``pip install 'oversight[ray]'``.

The driver (the ``oversight run`` process) takes the run's lock, merges the shards an
earlier session left (:mod:`oversight.runner._merge`; every ``oversight run`` of the folder
does, with or without ``--ray``, before it counts the spend), finds the items still to do, and
deals them to ``--workers N`` Ray tasks (default: one per CPU of the cluster) as
``--workers`` deals them to processes (:func:`oversight.runner._share.share_items`). Each
task runs its items in an ordinary session into its own store shard, ``RUN/shards/<k>/``,
with its share of every endpoint limit and of what is left of the cost and token caps; its
response cache (and batch ledger) starts as a copy of the run's, so no call the run already
paid for is sent again. When the tasks end (or fail, or the driver is interrupted), the
driver merges every shard into the run folder and writes ``status.json``.

The tasks get the API key variables of the run's endpoints from the driver's environment
(as the driver would use them), in their Ray runtime environment.

The run folder must be on a file system every node of the cluster sees (a local cluster,
or a shared mount): the shards are written there. No two processes append to one file, so
the shared file system needs no working locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.markup import escape

from judges import pending_escalations
from oversight.datasets import load_questions
from oversight.endpoints import Endpoint
from oversight.experiment import Experiment, with_limits
from oversight.runner._build import Endpoints, Factory
from oversight.runner._items import plan
from oversight.runner._merge import BATCHES, SHARDS, merge_shards, shard_lock
from oversight.runner._meter import Meter, SpendEntry, Tally
from oversight.runner._run import Session
from oversight.runner._share import portion, share_items
from oversight.runner._status import RunResult, ending, write_status
from oversight.runner._worker import Share, WorkerEnd, run_share
from transcripts import JsonlLog, RunStore
from transcripts.errors import ConfigError

__all__ = ["ShardJob", "run_ray", "run_shard"]


@dataclass(frozen=True)
class ShardJob:
    """What one Ray task is asked to do."""

    experiment: Experiment
    """The experiment, with the session's ``[limits]`` overrides."""
    folder: Path
    """The run folder (the shard goes to ``folder / "shards" / str(shard)``)."""
    run_id: str
    """The run's id, given to the shard's store."""
    shard: int
    """This task's number, from 0."""
    shards: int
    """How many tasks share the items."""
    items: frozenset[str]
    """Ids of the items this task runs."""
    cache: Path | None
    """The run's response cache file, copied into the shard's at the start (None: none)."""
    max_cost_usd: float | None
    """This task's share of what is left of the cost cap."""
    max_tokens: int | None
    """This task's share of what is left of the token cap."""
    offline: bool
    """Answer every call from the cache; a miss is an error."""
    factory: Factory | None
    """The endpoint factory (None: :func:`oversight.endpoint`)."""
    retry_failed: bool
    """Ask the judges of failed judgments again."""


def _ray() -> Any:
    try:
        return importlib.import_module("ray")
    except ModuleNotFoundError:
        raise ConfigError(
            "--ray needs Ray, an optional extra: pip install 'oversight[ray]'"
        ) from None


def run_shard(job: ShardJob) -> WorkerEnd:
    """One Ray task: its items into its own shard of the run."""
    shard = job.folder / SHARDS / str(job.shard)
    store = RunStore.create(shard, run_id=job.run_id)
    with shard_lock(shard):  # held while this task writes: no merge moves the shard meanwhile
        return _run_shard(job, shard, store)


def _run_shard(job: ShardJob, shard: Path, store: RunStore) -> WorkerEnd:
    cache: Path | bool = False
    if job.cache is not None:
        cache = shard / "cache.sqlite"
        if job.cache.exists():
            with (
                contextlib.closing(sqlite3.connect(job.cache)) as reader,
                contextlib.closing(sqlite3.connect(cache)) as writer,
            ):
                reader.backup(writer)
        batches = job.cache.with_name(BATCHES)  # batches in flight, to collect, not resend
        if batches.exists():
            shutil.copyfile(batches, shard / BATCHES)
    _seed(job, store)
    share = (job.shard, job.shards)
    whole = job.experiment
    exp = with_limits(whole, concurrency=max(1, portion(whole.limits.concurrency, *share)))
    questions = load_questions(exp.dataset, exp.base_dir)
    items = [i for i in plan(exp, questions) if i.id in job.items]
    meter = Meter(
        max_cost_usd=job.max_cost_usd,
        max_tokens=job.max_tokens,
        ledger=JsonlLog(shard / "spend.jsonl", SpendEntry),
    )
    endpoints = Endpoints(exp, cache=cache, offline=job.offline, factory=job.factory, share=share)
    mine = Share(experiment=exp, items=items, store=store, meter=meter, endpoints=endpoints)

    async def work() -> WorkerEnd:
        return await run_share(mine, retry_failed=job.retry_failed)

    return asyncio.run(work())


def _seed(job: ShardJob, shard: RunStore) -> None:
    """Copy into the new shard what the run already holds of the task's items: their
    complete transcripts, judgments and escalations. An item dealt out for a judgment alone
    (one that failed, with ``retry_failed``; one a stopped session left unasked) is then
    judged from its transcript, not run again into a second record of the same id, and a
    failed judgment is asked again on fresh calls, not replayed from the copied cache. The
    merge adds none of the copies back (the run has each, with the same content)."""
    run = RunStore.open(job.folder)
    try:
        done = run.transcripts.latest_entries(where={"status": "complete"}, extra=False)
        for transcript in run.transcripts.read(e for e in done if e.id in job.items):
            shard.transcripts.append(transcript)
        for judgment in run.judgments:
            if judgment.transcript_id in job.items:
                shard.judgments.append(judgment)
        for escalation in run.escalations:
            if escalation.transcript_id in job.items:
                shard.escalations.append(escalation)
    finally:
        run.close()


async def run_ray(
    session: Session,
    *,
    address: str,
    shards: int | None,
    offline: bool,
    factory: Factory | None,
    retry_failed: bool,
) -> RunResult:
    """Run ``session``'s items as Ray tasks on the cluster at ``address`` (or the one this
    process already joined), each into a shard, then merge the shards into its store
    (``session`` itself runs nothing: it finds and counts what the store holds)."""
    experiment, store, items = session.experiment, session.store, session.items
    endpoints, meter, console = session.endpoints, session.meter, session.console
    ray = _ray()
    if not ray.is_initialized():
        ray.init(address=address, log_to_driver=False)
    started = time.monotonic()
    made = endpoints.every()  # the shards an earlier session left were merged before the meter
    pending = session.scan()
    count = shards or max(1, int(ray.cluster_resources().get("CPU", 1)))
    count = max(1, min(count, len(pending)))
    cache = getattr(made[0], "cache", None) if made else None
    jobs = [
        ShardJob(
            experiment=experiment,
            folder=store.path,
            run_id=store.run_id,
            shard=k,
            shards=count,
            items=frozenset(i.id for i in share_items(pending, k, count)),
            cache=None if cache is None else Path(cache.path),
            max_cost_usd=_left(experiment.limits.max_cost_usd, meter.counted_usd, count),
            max_tokens=_whole(_left(experiment.limits.max_tokens, meter.tokens, count)),
            offline=offline,
            factory=factory,
            retry_failed=retry_failed,
        )
        for k in range(count)
    ]
    console.print(
        f"{len(pending)} of {len(items)} items to do, in {count} Ray task(s)", highlight=False
    )
    task = ray.remote(run_shard).options(runtime_env={"env_vars": _keys(made)})
    refs = [task.remote(job) for job in jobs]
    ends: list[WorkerEnd] = []
    problems: list[str] = []
    try:
        for ref in refs:
            try:
                ends.append(await ref)
            except Exception as err:  # a task that failed or was lost: its shard is kept
                problems.append(f"{type(err).__name__}: {err}")
    except asyncio.CancelledError:
        for ref in refs:
            with contextlib.suppress(Exception):
                ray.cancel(ref)
        problems.append("interrupted")
    merge_shards(store, made)
    if problems or any(e.result.status == "interrupted" for e in ends):
        status, message = (
            "interrupted",
            (
                f"{len(problems)} Ray task(s) did not finish ({'; '.join(problems)[:300]}); "
                f"what they saved is merged: run the same command again to resume"
            ),
        )
    else:
        stopped = [e.result for e in ends if not e.result.status.startswith("complete")]
        status, message = (
            (stopped[0].status, stopped[0].message)
            if stopped
            else ending(sum(e.failed for e in ends), sum(e.unsettled for e in ends))
        )
    total = sum((e.tally for e in ends), Tally())
    ledger = Meter(ledger=JsonlLog(store.path / "spend.jsonl", SpendEntry))
    result = RunResult(
        path=store.path,
        status=status,  # type: ignore[arg-type]
        message=message,
        items_total=len(items),
        judgments_failed=sum(e.result.judgments_failed for e in ends),
        judgments=sum(e.result.judgments for e in ends),
        spent_usd=ledger.spent_usd,
        unknown_cost_calls=ledger.unknown_cost_calls,
        estimated_usd=ledger.estimated_usd,
        estimated_calls=ledger.estimated_calls,
        input_tokens=ledger.input_tokens,
        output_tokens=ledger.output_tokens,
        calls=total.calls,
        paid_calls=ledger.paid_lines,
        calls_lost_in_flight=ledger.lost_in_flight,
        cached_calls=total.cached_calls,
        elapsed_s=time.monotonic() - started,
        errors=[e for end in ends for e in end.result.errors][:5],
    )
    ledger.close()
    result.items_complete, result.items_failed, result.transcripts = session.store_counts()
    if store.escalations.path.exists():
        result.escalations_pending = len(pending_escalations(store))
    write_status(store, result)
    if problems:
        console.print(f"[yellow]warning:[/] {escape(message)}", highlight=False)
    return result


def _keys(endpoints: list[Endpoint]) -> dict[str, str]:
    """The API key variables of the run's endpoints that this process has, for the tasks
    (the keys go to the cluster's processes, never to a file of the run)."""
    names = set()
    for made in endpoints:
        names.add(made.options.api_key_env)
        names.add(getattr(made.backend, "key_variable", None))
    return {n: os.environ[n] for n in sorted(filter(None, names)) if n in os.environ}


def _left(cap: float | None, spent: float, shards: int) -> float | None:
    """Each task's share of what is left of a cap (None: no cap)."""
    return None if cap is None else max(0.0, cap - spent) / shards


def _whole(tokens: float | None) -> int | None:
    return None if tokens is None else int(tokens)
