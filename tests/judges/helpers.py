"""Builders for the judge tests: transcripts, saved runs and scripted model judges."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path

from judges import HumanQuit, Judge
from oversight.endpoints import Reply, Request, TokenLogprob
from transcripts import (
    JudgeIdentity,
    JudgeKind,
    JudgeView,
    Judgment,
    Question,
    Quote,
    RunStore,
    Transcript,
    Turn,
)

ANSWERS = ["Every passing ship", "The weather each night", "The tides", "Her own dreams"]
CONTEXT = "The lighthouse keeper, Maren Voss, kept a ledger of every ship that passed."
SECRET_MODEL = "openai/gpt-secret-model-9000"


def transcript(
    tid: str = "t1", *, n: int = 2, order: list[int] | None = None, correct: int = 0
) -> Transcript:
    """A two-round debate over ``n`` answers, presented in ``order``."""
    question = Question(
        id=f"q-{tid}",
        text="What did the lighthouse keeper record?",
        answers=ANSWERS[:n],
        correct=correct,
        context=CONTEXT,
        source="story-7",
    )
    turns = [
        Turn(
            role="debater",
            speaker="Debater A",
            round=0,
            answer=0,
            content="She wrote <quote>a ledger of every ship</quote> down.",
            quotes=[Quote(text="a ledger of every ship", verified=True)],
        ),
        Turn(
            role="debater",
            speaker="Debater B",
            round=0,
            answer=1,
            content="The text says <quote>she logged the storms</quote>.",
            quotes=[Quote(text="she logged the storms", verified=False)],
        ),
        Turn(
            role="debater",
            speaker="Debater A",
            round=0,
            visibility="private",
            content="SCRATCHPAD secret plan",
        ),
        Turn(
            role="debater",
            speaker="Debater A",
            round=1,
            answer=0,
            content="Second round: the ledger is the record.",
        ),
    ]
    return Transcript(
        id=tid,
        run_id="run-1",
        protocol="debate",
        condition="debate",
        question=question,
        assignment={"Debater A": 0, "Debater B": 1},
        answer_order=order or [],
        turns=turns,
        roles={"Debater A": SECRET_MODEL, "Debater B": SECRET_MODEL},
    )


def saved_run(path: Path, transcripts: list[Transcript]) -> RunStore:
    """A run folder holding ``transcripts``."""
    store = RunStore.create(path, run_id="run-1")
    store.transcripts.extend(transcripts)
    return store


def shown_answers(request: Request) -> dict[str, str]:
    """Label -> answer text, as the judge prompt presented them."""
    prompt = request.messages[-1].content
    block = prompt.split("Answers:\n", 1)[1].split("\n\n", 1)[0]
    return dict(re.findall(r"^([A-Z]): (.*)$", block, flags=re.M))


def believer(
    belief: dict[str, float], *, mode: str = "structured", percent: bool = False
) -> Callable[[Request], str | Reply]:
    """A scripted model that believes ``belief`` (answer text -> probability) and says so.

    It reads the labels off the prompt, so it answers correctly whatever the order.
    """

    def reply(request: Request) -> str | Reply:
        shown = shown_answers(request)
        by_label = {label: belief.get(text, 0.0) for label, text in shown.items()}
        if mode == "logprobs":
            top = {label: math.log(p) for label, p in by_label.items() if p > 0}
            best = max(by_label, key=lambda k: by_label[k])
            return Reply(
                text=best,
                logprobs=[TokenLogprob(token=best, logprob=top[best], top={**top, "The": -9.0})],
            )
        scale = 100 if percent else 1
        return json.dumps(
            {
                "rationale": "the ledger quote is verified",
                "probabilities": {k: v * scale for k, v in by_label.items()},
            }
        )

    return reply


class Scripted(Judge):
    """A judge that answers from a script: probabilities in original order, or a failure."""

    def __init__(
        self,
        name: str,
        answers: list[list[float] | str | None],
        *,
        kind: JudgeKind = "llm",
        annotator: str | None = None,
    ) -> None:
        self._identity = JudgeIdentity(kind=kind, name=name, annotator=annotator)
        self.answers = list(answers)
        self.seen: list[JudgeView] = []

    @property
    def identity(self) -> JudgeIdentity:
        return self._identity

    async def judge(self, view: JudgeView) -> Judgment:
        self.seen.append(view)
        answer = self.answers.pop(0)
        if answer == "quit":
            raise HumanQuit("the person quit")
        if answer == "skip":
            return Judgment(transcript_id=view.transcript_id, judge=self.identity, status="skipped")
        if answer is None or isinstance(answer, str):
            return Judgment(
                transcript_id=view.transcript_id,
                judge=self.identity,
                status="failed",
                error="scripted failure",
            )
        return Judgment(
            transcript_id=view.transcript_id,
            judge=self.identity,
            probabilities=answer,
            rounds_seen=view.rounds_shown,
            rationale=f"{self.identity.name} says so",
            time_s=1.0,
        )


CONDITIONS = ("consultancy", "debate", "unassisted")
"""The conditions of :func:`run_transcripts`."""


def run_transcripts(
    questions: int = 6, conditions: tuple[str, ...] = CONDITIONS
) -> list[Transcript]:
    """Each question under each condition in both answer orders (for study plans)."""
    out = []
    for q in range(questions):
        question = Question(
            id=f"q{q}",
            text=f"Question {q}?",
            answers=["Yes", "No"],
            correct=q % 2,
            source=f"story-{q // 2}",
        )
        for condition in conditions:
            for order in ([0, 1], [1, 0]):
                out.append(
                    Transcript(
                        id=f"{condition}-q{q}-o{order[0]}{order[1]}",
                        protocol=condition,
                        condition=condition,
                        question=question,
                        answer_order=order,
                        turns=[
                            Turn(
                                role="debater", speaker="Debater A", round=0, content="hi", answer=0
                            )
                        ],
                    )
                )
    return out


PROMPT = "q quit: "
"""The end of the prompt where a person types a verdict in the terminal."""


def judgment_lines(run: Path) -> list[dict[str, object]]:
    """The judgments saved in ``run``, as JSON objects (none when there is no file yet)."""
    path = run / "judgments.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


PAT = 'name = "pat"\nkind = "human"\nannotator = "pat"'
"""The [[judges]] table of a person, pat, judging in the terminal."""


def people_run(tmp_path: Path, judge: str, *, questions: int = 3) -> Path:
    """An experiment of ``questions`` questions in 2 orders each, judged by ``judge`` (the
    lines of its [[judges]] table) in the terminal, one item at a time."""
    exp = tmp_path / "exp.toml"
    exp.write_text(
        f'name = "people"\n[dataset]\nloader = "sample"\nlimit = {questions}\n'
        '[[conditions]]\nlabel = "unassisted"\nprotocol = "unassisted"\n'
        f"[[judges]]\n{judge}\n[limits]\nconcurrency = 1\n"
    )
    return exp
