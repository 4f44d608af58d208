"""Speeches: private reasoning, the rules a public argument keeps, and optimised players.

* :func:`split` separates a reply into the private ``<thinking>`` and the public
  ``<argument>``; :func:`broken_rules` lists the rules an argument breaks (no argument
  tags, no quote where a source text must be quoted, over the length limit).
* :class:`Speech` is one public turn and the private turns that produced it (reasoning,
  rejected draws, losing candidates, critiques, scores).
* :func:`optimise` is Khan et al.'s (2024) optimisation of a player: best-of-N, each
  candidate scored by the judge model's probability for the speaker's answer with every
  speaker not yet heard this round replaced by a dummy, on the judge's own rendering
  (verification marks included); then critique-and-refine, the refinement scored the same way.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from protocols._common import Player, cut_to_limit
from transcripts import Call, Turn
from transcripts.errors import ProtocolError

if TYPE_CHECKING:
    from judges.llm import LLMJudge
    from protocols._turns import Voice
    from transcripts import JudgeView

__all__ = [
    "RESAMPLE_OFFSET",
    "Speech",
    "broken_rules",
    "optimise",
    "split",
    "strip_thinking",
]

RESAMPLE_OFFSET = 1_000
"""Added to ``sample_index`` per redraw of a rule-breaking speech (below the repeat offset)."""

_THINKING = re.compile(r"<thinking>(.*?)(?:</thinking>|\Z)", re.DOTALL)
_ARGUMENT = re.compile(r"<argument>(.*?)(?:</argument>|\Z)", re.DOTALL)


def split(text: str) -> tuple[str, str | None]:
    """``(private reasoning, public argument)``; the argument is None without its tags."""
    thinking = "\n\n".join(m.group(1).strip() for m in _THINKING.finditer(text))
    found = _ARGUMENT.search(text)
    return thinking, (found.group(1).strip() if found else None)


def strip_thinking(text: str) -> str:
    """``text`` without its ``<thinking>`` parts (a reply that forgot its argument tags)."""
    return _THINKING.sub("", text).replace("<argument>", "").replace("</argument>", "").strip()


def broken_rules(
    argument: str | None,
    *,
    quotes_needed: bool,
    word_limit: int | None,
    char_limit: int | None,
) -> list[str]:
    """The rules ``argument`` breaks, in words a reader of the transcript understands."""
    if argument is None:
        return ["no <argument> tags"]
    broken = []
    if quotes_needed and "<quote>" not in argument:
        broken.append("no quote from the source text")
    if cut_to_limit(argument, word_limit=word_limit, char_limit=char_limit)[1]:
        broken.append("over the length limit")
    return broken


@dataclass
class Speech:
    """A public turn and the private turns behind it."""

    public: Turn
    """What the judge may read."""
    private: list[Turn] = field(default_factory=list)
    """Reasoning, rejected draws, losing candidates, critiques and scoring calls."""
    raw: str = ""
    """The reply as the model wrote it (the assistant message a refinement continues)."""

    @property
    def turns(self) -> list[Turn]:
        """Private turns first, then the public one."""
        return [*self.private, self.public]

    def hidden(self, **metadata: Any) -> list[Turn]:
        """Every turn made private, tagged with ``metadata`` (a candidate not kept)."""
        return [
            t.model_copy(update={"visibility": "private", "metadata": {**t.metadata, **metadata}})
            for t in self.turns
        ]


def _tagged(turn: Turn, **metadata: Any) -> Turn:
    return turn.model_copy(update={"metadata": {**turn.metadata, **metadata}})


Draw = Callable[[int], Awaitable[Speech]]
"""Draws speech number ``k`` (its ``sample_index`` offset)."""


async def _score(
    scorer: LLMJudge, voice: Voice, speech: Speech, view_of: Callable[[Turn], JudgeView]
) -> tuple[float, list[Turn]]:
    """The judge model's probability for the speaker's answer, and the scoring turns."""
    judgment = await scorer.judge(view_of(speech.public))
    answer = speech.public.answer
    if judgment.status != "ok" or judgment.probabilities is None or answer is None:
        raise ProtocolError(f"the scorer could not score {voice.speaker}: {judgment.error}")
    score = judgment.probabilities[answer]
    calls: Sequence[Call | None] = judgment.calls or [None]
    turns = [
        Turn(
            role="preference",
            speaker="Scorer",
            round=speech.public.round,
            content=f"P({voice.rec.letter(answer)}) = {score:.4f}",
            visibility="private",
            call=call,
            metadata={"kind": "score", "score": score, "of": speech.public.metadata.get("draft")},
        )
        for call in calls
    ]
    return score, turns


async def _best(
    voice: Voice,
    draw: Draw,
    n: int,
    scorer: LLMJudge,
    view_of: Callable[[Turn], JudgeView],
    stage: str,
) -> Speech:
    """``n`` draws, each scored; the highest kept (ties to the earliest), the rest private."""
    drafts = await voice.rec.each(draw, range(n))
    drafts = [
        Speech(_tagged(d.public, draft=f"{stage}{k}"), d.private, d.raw)
        for k, d in enumerate(drafts)
    ]
    scored = await voice.rec.each(lambda d: _score(scorer, voice, d, view_of), drafts)
    scores = [s for s, _ in scored]
    best = scores.index(max(scores))
    kept = drafts[best]
    private = [
        t
        for k, d in enumerate(drafts)
        if k != best
        for t in d.hidden(candidate_of=stage, score=scores[k])
    ]
    private += [t for _, turns in scored for t in turns]
    public = kept.public.model_copy(
        update={
            "metadata": {**kept.public.metadata, "score": scores[best], f"{stage}_scores": scores}
        }
    )
    return Speech(public, [*kept.private, *private], kept.raw)


async def optimise(
    voice: Voice,
    prompt: str,
    *,
    round: int,
    player: Player,
    scorer: LLMJudge | None,
    view_of: Callable[[Turn], JudgeView],
    critique_prompt: Callable[[Speech], str],
    refine_prompt: Callable[[str], str],
    batchable: bool = False,
) -> Speech:
    """One speech of ``player``: best-of-N, then critique-and-refine (each when asked).

    ``batchable`` (an opening speech) applies to the drafts, which read nothing but the
    prompt; the scores, critiques and refinements wait on them and are sent at once."""
    if not player.optimises:
        return await voice.speech(prompt, round=round, batchable=batchable)
    if scorer is None:
        raise ProtocolError(f"{voice.speaker} optimises its speeches but no scorer was bound")
    temperature = player.candidate_temperature

    def candidate(k: int) -> Awaitable[Speech]:
        return voice.speech(
            prompt, round=round, sample_index=k, temperature=temperature, batchable=batchable
        )

    kept = (
        await _best(voice, candidate, player.best_of_n, scorer, view_of, "bo")
        if player.best_of_n > 1
        else await voice.speech(prompt, round=round, batchable=batchable)
    )
    if player.refine == 0:
        return kept
    critic = dataclasses.replace(voice, system=None)  # the player's model, out of its role
    critiques = await voice.rec.each(
        lambda k: critic.complete(critique_prompt(kept), sample_index=k, temperature=temperature),
        range(player.refine),
    )
    notes = [
        critic.turn(
            c,
            round=round,
            visibility="private",
            limit=False,
            metadata={"kind": "critique", "critique": k},
        )
        for k, c in enumerate(critiques)
    ]

    def refinement(k: int) -> Awaitable[Speech]:
        messages = [
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": kept.raw},
            {"role": "user", "content": refine_prompt(critiques[k].text.strip())},
        ]
        return voice.speech(messages, round=round, sample_index=k, temperature=temperature)

    refined = await _best(voice, refinement, player.refine, scorer, view_of, "refine")
    earlier = kept.hidden(candidate_of="refined")
    return Speech(refined.public, [*earlier, *notes, *refined.private], refined.raw)
