"""The records an item's attempts leave: a produced transcript stamped as the run's, a
failed one that keeps every attempt's error, and the record of one failed attempt.

:class:`~oversight.runner._run.Session` runs the attempts; these helpers only shape what
it saves. An item's id becomes its transcript's id, so a resumed run finds it again.
"""

from __future__ import annotations

from oversight.runner._build import Endpoints
from oversight.runner._items import WorkItem
from transcripts import Transcript

__all__ = ["attempt_record", "failed_transcript", "stamped"]


def _roles(item: WorkItem, endpoints: Endpoints) -> dict[str, str]:
    """Speaker role -> the endpoint spec that played it, as the condition names them."""
    return {r: endpoints.spec_of(e) for r, e in item.condition.roles.items()}


def stamped(
    item: WorkItem,
    produced: Transcript,
    *,
    run_id: str,
    experiment: str,
    endpoints: Endpoints,
    attempts: int,
    earlier: list[dict[str, object]],
) -> Transcript:
    """``produced`` as the run saves it: the item's id, the run's id, condition and repeat,
    the roles played, and (after a retry) how many attempts it took and their errors."""
    roles = produced.roles or _roles(item, endpoints)
    metadata = {
        **produced.metadata,
        "setup": item.setup.label,
        "experiment": experiment,
    }
    if attempts > 1:
        metadata["attempts"] = attempts
        metadata["attempt_errors"] = earlier
    return produced.model_copy(
        update={
            "id": item.id,
            "run_id": run_id,
            "condition": item.condition.label,
            "repeat": item.repeat,
            "roles": roles,
            "metadata": metadata,
        }
    )


def failed_transcript(
    item: WorkItem,
    *,
    run_id: str,
    error: str,
    endpoints: Endpoints,
    attempts: int,
    earlier: list[dict[str, object]],
) -> Transcript:
    """The error transcript of an item whose every attempt failed: the last error, and each
    attempt's in ``metadata["attempt_errors"]``."""
    return Transcript(
        id=item.id,
        run_id=run_id,
        protocol=item.protocol.name,
        protocol_config=item.config.model_dump(mode="json"),
        condition=item.condition.label,
        question=item.question,
        assignment=dict(item.setup.assignment),
        answer_order=list(item.setup.order),
        repeat=item.repeat,
        status="error",
        error=error,
        roles=_roles(item, endpoints),
        metadata={"setup": item.setup.label, "attempts": attempts, "attempt_errors": earlier},
    )


def attempt_record(index: int, error: str, produced: Transcript | None = None) -> dict[str, object]:
    """A failed attempt of an item as kept in ``metadata["attempt_errors"]``: its number, its
    error (an endpoint's own says how many times its call was retried), and, when the
    protocol returned an unfinished transcript, its turns and their calls' retries."""
    record: dict[str, object] = {"attempt": index + 1, "error": error}
    if produced is not None:
        record["turns"] = len(produced.turns)
        record["retries"] = sum(t.call.retries for t in produced.turns if t.call is not None)
    return record
