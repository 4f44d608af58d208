"""The run's status file, the result a run returns, and what a session tells the user of
how it ended."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from rich.markup import escape

from transcripts import RunStore, utc_now
from transcripts.errors import ConfigError, StoreError

if TYPE_CHECKING:  # `oversight show` reads the status file without the experiment layer
    from collections.abc import Mapping

    from rich.console import Console

    from oversight.endpoints import Endpoint
    from oversight.experiment import Limits
    from oversight.runner._ledger import Tally
    from oversight.runner._meter import Unknown

__all__ = [
    "STATUSES",
    "RunResult",
    "Status",
    "check_priced",
    "current_status",
    "ending",
    "read_status",
    "saved_judgments",
    "warn_unpriced",
    "write_status",
]

Status = Literal[
    "running",
    "complete",
    "complete with errors",
    "stopped: cost cap",
    "stopped: token cap",
    "stopped: too many failures",
    "interrupted",
]
"""Where a run stands. ``running`` left behind in the file means the process was killed."""

STATUSES: tuple[str, ...] = get_args(Status)


@dataclass
class RunResult:
    """What one session of a run did, and where the run stands (also in ``RUN/status.json``)."""

    path: Path
    """The run folder."""
    status: Status
    """Where the run stands."""
    message: str = ""
    """What happened, in words, and what to do next."""
    items_total: int = 0
    """Work items in the experiment."""
    items_complete: int = 0
    """Items whose transcript is complete and whose judgments are all saved (a failed
    judgment is saved too: it is counted in ``judgments_failed``, not here). Counted from
    the store at the end of a session, so it equals what the files hold."""
    items_failed: int = 0
    """Items whose transcript the store holds as an error (a new session retries them).
    Counted from the store at the end of a session."""
    judgments_failed: int = 0
    """Judgments recorded as failed in this session; their transcripts are complete.
    ``oversight run ... --retry-failed`` asks those judges again with fresh calls."""
    transcripts: int = 0
    """Complete transcripts in the store."""
    judgments: int = 0
    """Judgments written in this session."""
    spent_usd: float = 0.0
    """Dollars of the run's paid calls with a known price (all sessions)."""
    unknown_cost_calls: int = 0
    """Paid calls whose cost is unknown and not estimated: no known price (all sessions)."""
    estimated_usd: float = 0.0
    """The most the paid calls whose replies carried no token counts can have cost (the
    prompt counted locally, all of ``max_tokens`` for the reply): what the cost cap counts
    for them, apart from ``spent_usd`` (all sessions)."""
    estimated_calls: int = 0
    """Paid calls counted in ``estimated_usd`` (all sessions)."""
    input_tokens: int = 0
    """Prompt tokens of the run's paid calls (all sessions)."""
    output_tokens: int = 0
    """Completion tokens of the run's paid calls (all sessions)."""
    calls: int = 0
    """Calls sent in this session."""
    paid_calls: int = 0
    """Paid calls of the run (all sessions): the lines of ``RUN/spend.jsonl``."""
    calls_lost_in_flight: int = 0
    """Calls a kill or a cancellation cut off in flight (all sessions): sent, perhaps
    charged by the provider, never answered to the run; their cost is unknown and not in
    ``spent_usd``."""
    cached_calls: int = 0
    """Calls the response cache answered in this session."""
    elapsed_s: float = 0.0
    """Seconds this session took."""
    errors: list[str] = field(default_factory=list)
    """The first few item errors of this session."""
    escalations_pending: int = 0
    """Items a fallback judge queued for a person that no one has judged yet."""

    @property
    def ok(self) -> bool:
        """True when the run finished every item without errors."""
        return self.status == "complete"


def write_status(store: RunStore, result: RunResult, **extra: Any) -> None:
    """Write ``RUN/status.json`` atomically."""
    data = asdict(result)
    data["path"] = str(result.path)
    data["updated_at"] = utc_now().isoformat()
    data.update(extra)
    store.write_json("status.json", data)


def read_status(store: RunStore) -> dict[str, Any] | None:
    """The last status written, or None (also when the file is damaged: every session
    writes it anew, so nothing is lost by not reading it)."""
    try:
        data = store.read_json("status.json")
    except StoreError:
        return None
    return data if isinstance(data, dict) else None


def saved_judgments(store: RunStore) -> list[tuple[Any, str]]:
    """(transcript id, work key) of each judgment the runner counts as saved (from the
    index, no judgment read): ok, failed (counted in ``judgments_failed``) or handed to a
    person. An item is complete once its transcript is and each of its work keys is here."""
    return [
        (transcript_id, key)
        for transcript_id, key, status, escalated in store.judgments.index_values(
            "t", "k", "status", "e"
        )
        if isinstance(key, str) and (status in ("ok", "failed") or escalated)
    ]


def current_status(store: RunStore) -> dict[str, Any] | None:
    """The last status written (:func:`read_status`), made true where the file cannot be:
    a session rewrites it every 2 s, and a ``kill -9`` leaves ``running`` in it. Where it
    says ``running``, or where a run was killed before it wrote the file (``unwritten``,
    with no ``items_total``), the items done and failed and the spend are counted from the
    store (its indexes and its ledger files, one pass over each), and unless a live
    process holds the run's lock the status is ``interrupted``, with ``killed`` set and
    ``resume`` the command that resumes the run. Another status, with a session holding
    the lock (one that began, and has not written the file yet), has ``now`` say what the
    session does; its spend is the ledger's where a ledger file changed after the status
    was written (an ``oversight rejudge`` of the run), with ``later`` (a :class:`Tally`)
    and ``later_lost`` what was spent since. None for a folder no run made (an import).
    Writes nothing and takes no lock a session could wait for: for ``oversight show``,
    also on a folder it cannot write to."""
    from oversight.runner._ledger import run_spend
    from oversight.runner._lock import RUN_LOCK, run_lock_held, run_lock_holder

    status = read_status(store)
    if status is None:
        if not any((store.path / name).exists() for name in ("experiment.json", RUN_LOCK)):
            return None  # not a run's folder
        status = {"status": "running", "unwritten": True}  # killed before its first write
    if status.get("status") != "running":
        if run_lock_held(store.path):  # a session began and has not said so in the file yet
            status["now"] = run_lock_holder(store.path)
        _spent_since(store, status)
        return status
    needs = status.get("judgments_per_item")
    latest = store.transcripts.index_values("id", "status", "c", latest=True)
    planned = [(i, s, c) for i, s, c in latest if not isinstance(needs, dict) or c in needs]
    complete = {i: c for i, s, c in planned if s == "complete"}
    saved: dict[str, set[str]] = {}
    for transcript_id, key in saved_judgments(store):
        if transcript_id in complete:
            saved.setdefault(transcript_id, set()).add(key)
    # Written before each session's counts of judgments per item (an older version, or no
    # status yet): an item is taken as done once its transcript has a judgment.
    done = sum(
        len(saved.get(i, ())) >= (needs.get(c, 1) if isinstance(needs, dict) else 1)
        for i, c in complete.items()
    )
    paid, lost = run_spend(store.path)
    status.update(
        items_complete=done,
        items_failed=len(planned) - len(complete),
        transcripts=len(complete),
        calls_lost_in_flight=lost,
        **_spend_fields(paid),
    )
    held = run_lock_held(store.path)
    if held is False:
        status.update(status="interrupted", killed=True, resume=_resume_command(store))
    elif held and status.get("unwritten"):
        status["now"] = run_lock_holder(store.path)
    return status


def _spend_fields(paid: Tally) -> dict[str, Any]:
    """A status's spend fields, from a tally of the ledger."""
    return {
        "spent_usd": paid.spent_usd,
        "unknown_cost_calls": paid.unknown_cost_calls,
        "estimated_usd": paid.estimated_usd,
        "estimated_calls": paid.estimated_calls,
        "paid_calls": paid.paid_lines,
        "input_tokens": paid.input_tokens,
        "output_tokens": paid.output_tokens,
    }


def _spent_since(store: RunStore, status: dict[str, Any]) -> None:
    """The run's spend as its ledger holds it, where a ledger file changed after the status
    was written: an ``oversight rejudge`` writes the run's ledger and not its status (the
    run's next session counts those calls in its own). ``later`` and ``later_lost``: what
    the ledger holds beyond the status's counts. Nothing is read where no ledger file is
    newer than the status (a finished run's usual case: a ``stat`` of three files)."""
    from oversight.runner._ledger import Tally, run_spend

    try:
        written = (store.path / "status.json").stat().st_mtime_ns
        newer = any(
            (store.path / name).stat().st_mtime_ns > written
            for name in ("spend.jsonl", "sent.jsonl")
            if (store.path / name).exists()
        )
    except OSError:
        return
    if not newer:
        return
    paid, lost = run_spend(store.path)
    before = Tally(
        paid_lines=_count(status, "paid_calls"),
        spent_usd=float(status.get("spent_usd") or 0.0),
        unknown_cost_calls=_count(status, "unknown_cost_calls"),
        estimated_usd=float(status.get("estimated_usd") or 0.0),
        estimated_calls=_count(status, "estimated_calls"),
        input_tokens=_count(status, "input_tokens"),
        output_tokens=_count(status, "output_tokens"),
    )
    later, later_lost = paid - before, lost - _count(status, "calls_lost_in_flight")
    status.update(calls_lost_in_flight=lost, **_spend_fields(paid))
    if later.paid_lines > 0 or later_lost > 0:
        status.update(later=later, later_lost=max(later_lost, 0))


def _count(status: Mapping[str, Any], name: str) -> int:
    value = status.get(name)
    return value if isinstance(value, int) else 0


def _resume_command(store: RunStore) -> str:
    """``oversight run EXPERIMENT --out RUN`` (``oversight stress`` for a run it made),
    from the experiment file the run was made from (a general line where the run does not
    say)."""
    import shlex

    try:
        frozen = store.read_json("experiment.json")
    except StoreError:
        frozen = None
    frozen = frozen if isinstance(frozen, dict) else {}
    source, spec = frozen.get("source"), frozen.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    stress = spec.get("stress") and str(spec.get("name", "")).endswith("-stress")
    command = "oversight stress" if stress else "oversight run"
    if not isinstance(source, str) or not source:
        return f"the same `{command} ... --out {store.path}` command"
    return f"{command} {shlex.quote(source)} --out {shlex.quote(str(store.path))}"


def ending(failed_items: int, failed_judgments: int) -> tuple[Status, str]:
    """How a run that went through all its items ended, and what to do next, from its
    failed items and the judgments still failed."""
    if failed_items == 0 and not failed_judgments:
        return "complete", ""
    notes = []
    if failed_items:
        notes.append(
            f"{failed_items} item(s) failed and were recorded as errors; run again to retry them"
        )
    if failed_judgments:
        notes.append(
            f"{failed_judgments} judgment(s) failed (their transcripts are saved); run again "
            f"with --retry-failed to ask those judges again with fresh calls"
        )
    return "complete with errors", "; ".join(notes)


def warn_unpriced(console: Console, new: set[tuple[str, Unknown]], limits: Limits) -> None:
    """Warn once of endpoints whose calls cost an unknown amount, and why (``new``: the
    endpoints and reasons not warned of yet)."""
    cap = " The cost cap cannot count them." if limits.max_cost_usd is not None else ""
    bounded = (
        " The cost cap counts each at the most it can have cost (the prompt counted here, "
        "all of max_tokens for the reply), shown apart as estimated."
        if limits.max_cost_usd is not None
        else ""
    )
    unpriced = sorted(endpoint for endpoint, why in new if why == "price")
    if unpriced:
        console.print(
            f"[yellow]warning:[/] no price is known for {escape(', '.join(unpriced))}: "
            f"their cost is reported as unknown, not zero.{cap} Set pricing in "
            f"{escape('[endpoints]')}.",
            highlight=False,
        )
    uncounted = sorted(endpoint for endpoint, why in new if why == "usage")
    if uncounted:
        console.print(
            f"[yellow]warning:[/] {escape(', '.join(uncounted))} replied without token "
            f"counts (no usage in the response): those calls' cost is reported as unknown, "
            f"not zero.{bounded} Make the server report usage (in a stream, by honouring "
            f"stream_options include_usage).",
            highlight=False,
        )


def check_priced(endpoints: Mapping[str, Endpoint]) -> None:
    """Raise ConfigError when a cost cap is set and an endpoint (by name) has no known price:
    the cap could not count its calls. A reply without token counts needs no refusal: the
    cap counts it at the most it can have cost (:meth:`Endpoint.cost_bound`)."""
    unpriced = [(name, e.spec) for name, e in endpoints.items() if not e.priced]
    if not unpriced:
        return
    named = ", ".join(
        f"{name!r} ({spec})" if name != spec else repr(spec) for name, spec in unpriced
    )
    raise ConfigError(
        f"--max-cost (max_cost_usd) cannot be held: no price is known for endpoint "
        f"{named}, so what its calls cost is unknown and the cap could not count them. "
        f"Give it a price in its [endpoints.NAME] table: pricing = {{ input = ..., output "
        f"= ... }} in USD per million tokens, or the name of a model with the same price "
        f'(pricing = "gpt-4o-mini"); pricing = {{ input = 0, output = 0 }} if its calls '
        f"cost nothing (a server of your own). Or run without a cost cap."
    )
