"""Reading a judge model's reply: presented-order probabilities from structured JSON
(:func:`parse_structured`) or from the answer labels' logprobs (:func:`label_probabilities`),
what a reply lacks for the latter (:func:`lacking_logprobs`), and a live judge's decision
(:func:`live_decision`). Each raises :class:`~transcripts.errors.JudgeError` saying what is
wrong with an unusable reply; :class:`judges.llm.LLMJudge` asks again."""

from __future__ import annotations

import json
import math
from typing import Any, Literal

from judges._probs import normalise
from oversight.endpoints import Completion, TokenLogprob
from transcripts.errors import JudgeError

__all__ = ["label_probabilities", "lacking_logprobs", "live_decision", "parse_structured"]

_LABEL_PUNCTUATION = " \t\n()[]*.:'\"`"


def lacking_logprobs(logprobs: list[TokenLogprob] | None) -> str | None:
    """What a reply lacks for a distribution over the labels (None: nothing it needs)."""
    if logprobs is None or not any(position.top for position in logprobs):
        return "no logprobs" if logprobs is None else "logprobs without top_logprobs alternatives"
    return None


def live_decision(completion: Completion) -> tuple[Literal["continue", "end"], str]:
    """The decision and the question of a live reply (JudgeError when there is no decision)."""
    data = _reply_data(completion)
    data = data if isinstance(data, dict) else {}
    decision = str(data.get("decision", "")).strip().lower()
    if decision not in ("continue", "end"):
        raise JudgeError(f'\'decision\' must be "continue" or "end", got {decision!r}')
    question = data.get("question")
    text = question.strip() if isinstance(question, str) else ""
    return ("continue" if decision == "continue" else "end"), (
        "" if text.strip(" .!").upper() == "NONE" else text
    )


def _reply_data(completion: Completion) -> Any:
    """The reply's parsed JSON (JudgeError when it is not JSON)."""
    if completion.parsed is not None:
        return completion.parsed
    try:
        return json.loads(completion.text)
    except json.JSONDecodeError as err:
        raise JudgeError(f"reply is not JSON: {completion.text[:200]!r}") from err


def parse_structured(completion: Completion, names: list[str]) -> tuple[list[float], str]:
    """Presented-order probabilities and the rationale from a structured reply.

    Raises :class:`JudgeError` saying what is wrong when the reply is unusable.
    """
    data = _reply_data(completion)
    if hasattr(data, "model_dump"):
        data = data.model_dump()
    if not isinstance(data, dict) or "probabilities" not in data:
        raise JudgeError(f"reply has no 'probabilities': {completion.text[:200]!r}")
    raw = data["probabilities"]
    if isinstance(raw, dict):
        given = {str(k).strip(_LABEL_PUNCTUATION).upper(): v for k, v in raw.items()}
        missing = [n for n in names if n not in given]
        extra = sorted(set(given) - set(names))
        if missing or extra:
            raise JudgeError(
                f"probabilities must name exactly the labels {names}; missing {missing}, "
                f"unexpected {extra}"
            )
        values = [given[n] for n in names]
    else:
        raise JudgeError(f"'probabilities' must be an object of label: number, got {raw!r}")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        raise JudgeError(f"probabilities must be numbers, got {values}")
    floats = [float(v) for v in values]
    if all(0 <= v <= 100 for v in floats) and abs(math.fsum(floats) - 100) <= 5:
        floats = [v / 100 for v in floats]  # percentages
    rationale = data.get("rationale", "")
    return normalise(floats), rationale if isinstance(rationale, str) else str(rationale)


def label_probabilities(logprobs: list[TokenLogprob], names: list[str]) -> list[float]:
    """Softmax over the answer labels at the first token that names one.

    Whitespace and bracket tokens before the label are skipped; if the first meaningful
    token is not a label, the reply is unusable. Alternatives that spell the same label
    (``"A"``, ``" A"``) are summed. Labels absent from the alternatives get 0.
    """
    for position in logprobs:
        chosen = position.token.strip(_LABEL_PUNCTUATION)
        if not chosen:
            continue
        if chosen not in names:
            raise JudgeError(f"the reply starts with {position.token!r}, not an answer label")
        found: dict[str, list[float]] = {}
        for token, logprob in {position.token: position.logprob, **position.top}.items():
            label = token.strip(_LABEL_PUNCTUATION)
            if label in names and math.isfinite(logprob):
                found.setdefault(label, []).append(logprob)
        if not found:
            raise JudgeError("the answer labels carry no probability mass")
        shift = max(lp for lps in found.values() for lp in lps)  # stable softmax
        mass = {
            label: math.fsum(math.exp(lp - shift) for lp in lps) for label, lps in found.items()
        }
        total = math.fsum(mass.values())
        return [mass.get(n, 0.0) / total for n in names]
    raise JudgeError("the reply holds no answer label")
