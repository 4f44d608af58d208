"""The LLM judge: a probability per answer from a model, never a silent guess.

Example::

    judge = LLMJudge(endpoint("openai/gpt-4o-mini"), name="weak", samples=5, combine="majority")
    judge = LLMJudge(endpoint("openai/gpt-4o-mini"), LLMJudgeOptions(samples=5))  # the same
    judgment = await judge.judge(JudgeView.from_transcript(transcript))

The options are :class:`LLMJudgeOptions`, the one list of them: keywords here, keys of a
``[[judges]]`` table and ``key=value`` items of an ``llm:`` spec string all name its fields.

Two ways to read the model's belief:

* ``structured`` (default): the model replies with JSON, ``{"rationale": ..., "probabilities":
  {"A": 0.7, "B": 0.3}}`` (percentages that sum to 100 are read as such). Sums off by up to
  5% are renormalised; negative, NaN, all-zero or missing values are refused.
* ``logprobs``: the model replies with one answer label and the label tokens' top
  log-probabilities give the distribution (a softmax over the labels found; a label absent
  from the top alternatives gets probability 0). When the provider returns no logprobs (or
  none with alternatives) the judgment fails with a clear error, or, with
  ``on_missing_logprobs="structured"``, that sample is asked in structured mode instead
  (``metadata["fell_back"]``; this ask is not counted among ``max_attempts``).

A reply that is not schema-valid JSON is re-asked by the endpoint (its
``validation_retries``); if it still fails, so does the sample. A reply whose numbers are
not probabilities or whose logprobs name no label is asked again here, up to
``max_attempts`` times per sample (default: the endpoint's ``judge_attempts``), each under
a new ``sample_index`` and seed and shown its unusable reply and what was wrong, so even at
temperature 0 a deterministic failure is not simply paid for again. A judgment with no
usable sample is ``status="failed"`` with the reasons, never a guess. Endpoint errors
(after the endpoint's own retries) are not retried here.

With ``samples=k`` the k samples are asked concurrently (``sample_index`` i = 0..k-1, seed
``seed + i``: k distinct draws, the same on a rerun) and combined by their mean or by
majority vote (probability = share of votes); temperature defaults to 1.0 when k > 1.
Probabilities are mapped back to the original order (:meth:`JudgeView.to_original`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field

from judges._probs import Combine, combine
from judges._replies import (
    label_probabilities,
    lacking_logprobs,
    live_decision,
    parse_structured,
)
from judges.base import Judge, JudgeOptions, JudgeQuestion, LiveBelief, resolve_options
from judges.prompts import (
    JudgePrompt,
    check_prompts,
    judge_schema,
    labels,
    live_schema,
    reasked,
    render_judge_prompt,
    render_judge_system,
    render_label_prompt,
    render_live_prompt,
    render_question_prompt,
    render_with,
)
from oversight.concurrency import bounded_map
from oversight.endpoints import Completion, Endpoint
from transcripts import Call, JudgeIdentity, JudgeView, Judgment
from transcripts._validation import Integer, Number
from transcripts.errors import EndpointError, JudgeError, StructuredOutputError

__all__ = ["LLMJudge", "LLMJudgeOptions", "Mode", "label_probabilities", "parse_structured"]

Mode = Literal["structured", "logprobs"]
"""How the judge reads the model's belief: JSON probabilities, or answer-label logprobs."""


@dataclass
class _Sample:
    """What one sample produced: presented-order probabilities, or the reasons it failed."""

    presented: list[float] | None = None
    rationale: str = ""
    calls: list[Call] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    fell_back: bool = False


class LLMJudgeOptions(JudgeOptions):
    """Options of an LLM judge (:class:`LLMJudge`; ``kind = "llm"`` in a ``[[judges]]`` table)."""

    mode: Mode = "structured"
    """``structured`` (JSON probabilities) or ``logprobs`` (answer-label token logprobs)."""
    samples: Integer = Field(default=1, ge=1)
    """Independent samples per item, combined by ``combine``."""
    combine: Combine = "mean"
    """How samples are combined: mean probability, or ``majority`` (share of votes)."""
    temperature: Number | None = Field(default=None, ge=0.0)
    """Sampling temperature; None = 0.0 for one sample, 1.0 for several."""
    max_attempts: Integer | None = Field(default=None, ge=1)
    """Times an unreadable reply is asked again, per sample, before the judgment fails;
    None: the endpoint's ``judge_attempts``."""
    max_tokens: Integer = Field(default=600, ge=1)
    """Completion token limit of a structured verdict."""
    ask_questions: bool = False
    """Ask the speakers a question between rounds of interactive protocols."""
    on_missing_logprobs: Literal["fail", "structured"] = "fail"
    """In logprobs mode, when the provider gives none: fail, or ask in structured mode."""
    concurrency: Integer = Field(default=8, ge=1)
    """Samples of one item asked at once."""
    seed: Integer | None = None
    """Sampling seed for providers that accept one, sent as ``seed + sample_index``; None: none."""


class LLMJudge(Judge):
    """A model as judge: structured probabilities or label logprobs, optionally k samples."""

    def __init__(
        self,
        endpoint: Endpoint,
        options: JudgeOptions | None = None,
        /,
        *,
        prompts: Mapping[str, JudgePrompt] | None = None,
        **overrides: Any,
    ) -> None:
        self.endpoint = endpoint
        self.options = resolve_options(
            LLMJudgeOptions, options, overrides, what=f"LLM judge on {endpoint.spec}"
        )
        self.prompts = dict(prompts or {})
        """Prompt overrides by ``render_*`` name: templates, or functions in Python."""
        check_prompts(self.prompts)
        self._identity = JudgeIdentity(
            kind="llm", name=self.options.name or endpoint.spec, model=endpoint.spec
        )

    @property
    def max_attempts(self) -> int:
        """Asks per sample: the option, or the endpoint's ``judge_attempts``."""
        if self.options.max_attempts is not None:
            return self.options.max_attempts
        return self.endpoint.options.judge_attempts

    @property
    def temperature(self) -> float:
        """The sampling temperature used: the option, or 0.0 for one sample, 1.0 for several."""
        if self.options.temperature is not None:
            return self.options.temperature
        return 1.0 if self.options.samples > 1 else 0.0

    @property
    def identity(self) -> JudgeIdentity:
        return self._identity

    def __repr__(self) -> str:
        return (
            f"LLMJudge({self.endpoint.spec!r}, name={self._identity.name!r}, "
            f"mode={self.options.mode!r})"
        )

    async def judge(self, view: JudgeView) -> Judgment:
        started = time.monotonic()
        results = await bounded_map(
            lambda i: self._sample(view, i),
            range(self.options.samples),
            limit=self.options.concurrency,
        )
        calls = [c for r in results for c in r.calls]
        good = [r for r in results if r.presented is not None]
        metadata: dict[str, Any] = {"mode": self.options.mode, "samples": self.options.samples}
        if self.options.samples > 1:
            metadata["combine"] = self.options.combine
        if any(r.fell_back for r in results):
            metadata["fell_back"] = "structured"
        if not good:
            errors = [e for r in results for e in r.errors]
            return Judgment(
                transcript_id=view.transcript_id,
                judge=self.identity,
                status="failed",
                error=f"no valid verdict from {self.endpoint.spec}: " + "; ".join(errors),
                rounds_seen=view.rounds_shown,
                time_s=time.monotonic() - started,
                calls=calls,
                metadata=metadata,
            )
        vectors = [r.presented for r in good if r.presented is not None]
        presented = combine(vectors, self.options.combine)
        metadata["presented_probabilities"] = presented
        if self.options.samples > 1:
            metadata["sample_probabilities"] = [view.to_original(v) for v in vectors]
            metadata["samples_failed"] = len(results) - len(good)
            metadata["rationales"] = [r.rationale for r in good]
        return Judgment(
            transcript_id=view.transcript_id,
            judge=self.identity,
            probabilities=view.to_original(presented),
            rationale=good[0].rationale,
            rounds_seen=view.rounds_shown,
            time_s=time.monotonic() - started,
            calls=calls,
            metadata=metadata,
        )

    async def ask(self, view: JudgeView) -> str | None:
        """A short question from the model when ``ask_questions`` is on; None otherwise."""
        if not self.options.ask_questions:
            return None
        try:
            completion = await self.endpoint.complete(
                self._render(render_question_prompt, view),
                system=self._render(render_judge_system, view),
                max_tokens=120,
                temperature=self.temperature,
                seed=self.options.seed,
            )
        except EndpointError as err:
            raise JudgeError(f"{self.endpoint.spec} could not ask a question: {err}") from err
        question = completion.text.strip()
        if not question or question.strip(" .!").upper() == "NONE":
            return None
        return JudgeQuestion(question, completion.call)

    async def live_turn(
        self,
        view: JudgeView,
        *,
        opening: bool,
        can_end: bool,
        previous: list[list[float]],
        turn_penalty: float,
    ) -> LiveBelief:
        """One structured reply: probabilities, and (when it may end) a question and a decision.

        An unreadable reply is asked again as in :meth:`judge` (up to ``max_attempts``, each
        a new ``sample_index`` and seed, shown the reply and what was wrong); every call is
        returned, so each is recorded on the transcript. One sample is asked whatever
        ``samples`` says (a live belief is one judge's turn).
        """
        prompt = render_live_prompt(
            view, opening=opening, can_end=can_end, previous=previous, turn_penalty=turn_penalty
        )
        schema = live_schema(view) if can_end else judge_schema(view)
        calls: list[Call] = []
        errors: list[str] = []
        unusable: tuple[str, str] | None = None
        started = time.monotonic()
        for attempt in range(self.max_attempts):
            try:
                completion = await self.endpoint.complete(
                    reasked(prompt, unusable),
                    system=self._render(render_judge_system, view),
                    max_tokens=self.options.max_tokens,
                    temperature=self.temperature,
                    seed=None if self.options.seed is None else self.options.seed + attempt,
                    schema=schema,
                    sample_index=attempt,
                )
            except EndpointError as err:
                raise JudgeError(f"{self.endpoint.spec} gave no live belief: {err}") from err
            calls.append(completion.call)
            try:
                presented, rationale = parse_structured(completion, labels(view))
                decision, question = live_decision(completion) if can_end else ("continue", "")
            except JudgeError as err:
                errors.append(f"attempt {attempt + 1}: {err}")
                unusable = (completion.text, str(err))
                continue
            return LiveBelief(
                probabilities=view.to_original(presented),
                decision=decision,
                question=question or None,
                rationale=rationale,
                calls=calls,
                time_s=time.monotonic() - started,
            )
        raise JudgeError(f"{self.endpoint.spec} gave no readable live belief: " + "; ".join(errors))

    # -- one sample ------------------------------------------------------------------------

    async def _sample(self, view: JudgeView, index: int) -> _Sample:
        """Ask until a readable reply or ``max_attempts``; endpoint errors end it at once."""
        sample = _Sample()
        mode = self.options.mode
        unusable: tuple[str, str] | None = None  # the last unusable reply and what was wrong
        attempt = 0
        while attempt < self.max_attempts:
            sample_index = index + attempt * self.options.samples
            try:
                completion = await self._complete(view, mode, sample_index, unusable)
            except StructuredOutputError as err:
                # The endpoint already re-asked for a schema-valid reply (it owns that).
                sample.calls.extend(err.calls)  # paid for, so counted in the judgment
                sample.errors.append(f"sample {index}: no schema-valid reply: {err}")
                return sample
            except EndpointError as err:
                sample.calls.extend(err.calls)
                sample.errors.append(f"sample {index}: endpoint failed: {err}")
                return sample
            sample.calls.append(completion.call)
            lacking = lacking_logprobs(completion.logprobs)
            if mode == "logprobs" and lacking:
                if self.options.on_missing_logprobs == "fail":
                    sample.errors.append(
                        f"{self.endpoint.spec} returned {lacking}; use mode='structured' or "
                        f"on_missing_logprobs='structured' for this endpoint"
                    )
                    return sample
                mode, sample.fell_back, unusable = "structured", True, None
                continue  # the same attempt, asked in structured mode (not a retry)
            try:
                if mode == "logprobs":
                    sample.presented = label_probabilities(completion.logprobs or [], labels(view))
                    sample.rationale = completion.text.strip()
                else:
                    sample.presented, sample.rationale = parse_structured(completion, labels(view))
            except JudgeError as err:
                sample.errors.append(f"sample {index} attempt {attempt + 1}: {err}")
                unusable = (completion.text, str(err))
                attempt += 1
                continue
            return sample
        return sample

    def _render(self, fn: Callable[[JudgeView], str], view: JudgeView) -> str:
        return render_with(fn, view, self.prompts)

    async def _complete(
        self, view: JudgeView, mode: Mode, sample_index: int, unusable: tuple[str, str] | None
    ) -> Completion:
        """One ask (seed ``seed + sample_index``); a re-ask after an unusable reply shows the
        model that reply and what was wrong with it, so it is never the identical request."""
        prompt = self._render(
            render_label_prompt if mode == "logprobs" else render_judge_prompt, view
        )
        system = self._render(render_judge_system, view)
        messages = reasked(prompt, unusable)
        seed = None if self.options.seed is None else self.options.seed + sample_index
        if mode == "logprobs":
            return await self.endpoint.complete(
                messages,
                system=system,
                max_tokens=5,
                temperature=self.temperature,
                seed=seed,
                logprobs=True,
                top_logprobs=max(5, min(20, 2 * len(view.answers))),
                sample_index=sample_index,
            )
        return await self.endpoint.complete(
            messages,
            system=system,
            max_tokens=self.options.max_tokens,
            temperature=self.temperature,
            seed=seed,
            schema=judge_schema(view),
            sample_index=sample_index,
        )
