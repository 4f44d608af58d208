"""Small helpers every composite judge uses: failed judgments and judging without raising."""

from __future__ import annotations

from typing import Any

from judges.base import Judge
from transcripts import JudgeIdentity, JudgeView, Judgment
from transcripts.errors import EndpointError, JudgeError

__all__ = ["HumanInterrupted", "HumanQuit", "failed", "judge_safely"]


def failed(
    view: JudgeView,
    identity: JudgeIdentity,
    error: str,
    **fields: Any,
) -> Judgment:
    """A ``failed`` judgment of ``view`` that says why (never a silent guess)."""
    return Judgment(
        transcript_id=view.transcript_id,
        judge=identity,
        status="failed",
        error=error,
        rounds_seen=view.rounds_shown,
        **fields,
    )


async def judge_safely(judge: Judge, view: JudgeView) -> Judgment:
    """``judge.judge(view)``, with a judge or endpoint error recorded as a failed judgment.

    A person who stops (:class:`HumanQuit`) is not a failed judgment: it is raised, so the
    item stays to be asked (a composite judgment without them would be final)."""
    try:
        return await judge.judge(view)
    except HumanQuit:
        raise
    except (JudgeError, EndpointError) as err:
        return failed(view, judge.identity, f"{type(err).__name__}: {err}")


class HumanQuit(JudgeError):
    """The person stopped (``q``, end of input): no judgment was given for this item."""


class HumanInterrupted(HumanQuit):
    """Ctrl-C (or a closed terminal) stopped the person before they gave a judgment for this
    item: the caller stops, and the item stays to be asked when it resumes (a fallback judge
    does not queue it)."""
