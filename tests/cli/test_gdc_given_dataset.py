"""A GDC measurement on a user's JSONL file of known-good and known-flawed answers, through
the loader, the runner and the store, with scripted models whose G, D and C are known."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from oversight.analysis import gdc
from oversight.endpoints import Endpoint, Request, endpoint
from oversight.experiment import Experiment
from oversight.runner import run_experiment
from transcripts import JudgeView, RunStore

CONTEXT = "The ferry left at dawn on the ninth. It carried salt, nails and a goat."


def record(k: int) -> dict[str, Any]:
    flawed = k % 2 == 0
    given = {
        "answer": "Salt" if not flawed else "Wool",
        "justification": (
            f"It carried <quote>salt, nails and a goat</quote> (entry {k})."
            if not flawed
            else "WRONG: it carried wool, see <quote>left at dawn</quote>."
        ),
        "flawed": flawed,
        "flaw": (f"key-{k}: it names wool, which the text never mentions" if flawed else None),
    }
    return {
        "id": f"q{k}",
        "question": "What did the ferry carry?",
        "answers": ["Salt", "Wool"],
        "correct": 0,
        "context": CONTEXT,
        "source": f"story-{k // 2}",
        "given_answer": given,
    }


def critic(request: Request) -> Any:
    props = (request.schema_ or {}).get("properties", {})
    text = "\n".join(m.content for m in request.messages)
    if "p_flawed" in props:
        return {"p_flawed": 0.9 if "WRONG" in text else 0.2, "reason": "scripted"}
    if "answer" in props:
        return {"answer": props["answer"]["enum"][0], "reason": "first"}
    if "(entry 1)" in text:
        return "No real flaw: the quote supports salt."
    # Claims a flaw in every other answer: right on the flawed ones, false on q3 and q5.
    return "The proposal cites a quote that does not say wool."


def rater(request: Request) -> Any:
    text = "\n".join(m.content for m in request.messages)
    flawed = "known to be flawed" in text
    spotted = flawed and any(f"key-{k}:" in text for k in (0, 4))  # 2 of the 3 flaws
    return {
        "helpfulness": 6 if spotted else 2,
        "real_flaw": spotted,
        "identifies_key": spotted,
        "claims_flaw": "No real flaw" not in text,
        "reason": "scripted",
    }


def judge(request: Request) -> Any:
    labels = list((request.schema_ or {})["properties"]["probabilities"]["properties"])
    return {"rationale": "r", "probabilities": dict.fromkeys(labels, 1 / len(labels))}


class Factory:
    def __init__(self) -> None:
        self.endpoints: dict[str, Endpoint] = {}

    def __call__(self, spec: str, **options: Any) -> Endpoint:
        script = {"mock/critic": critic, "mock/rater": rater, "mock/judge": judge}[spec]
        options.pop("pricing", None)
        made = endpoint(spec, replies=script, **options)
        self.endpoints[spec] = made
        return made


def test_gdc_on_a_jsonl_file_of_given_answers(tmp_path: Path) -> None:
    data = tmp_path / "given.jsonl"
    data.write_text("\n".join(json.dumps(record(k)) for k in range(6)) + "\n")
    exp = Experiment.model_validate(
        {
            "name": "given",
            "dataset": {"loader": "jsonl", "path": str(data)},
            "endpoints": {n: {"spec": f"mock/{n}"} for n in ("critic", "rater", "judge")},
            "conditions": [
                {
                    "label": "gdc",
                    "protocol": "critique",
                    "roles": {"critic": "critic", "rater": "rater"},
                    "options": {"target": "given", "gdc": True},
                }
            ],
            "judges": [{"kind": "llm", "name": "judge", "endpoint": "judge"}],
            "counterbalance": {"orders": "identity"},
        }
    )
    factory = Factory()
    result = run_experiment(
        exp, out=tmp_path / "run", endpoint_factory=factory, progress=False, summary=False
    )
    assert result.status == "complete", result.errors
    (s,) = gdc(tmp_path / "run", n_bootstrap=500)
    assert (s.items, s.flawed, s.sources) == (6, 3, 3)
    assert s.generation.value == 1.0  # always "A", the gold in the identity order
    assert s.discrimination.value == 1.0
    # 2 of the 3 flaws identified; of the 3 good answers only q1's critique claims no flaw:
    # a false flaw claimed on a good answer is a wrong critique, as p_flawed > 0.5 would be.
    assert s.critique.value == pytest.approx(3 / 6)
    assert s.d_minus_c.value == pytest.approx(3 / 6)
    assert s.d_minus_c_flawed.value == pytest.approx(1 / 3)
    assert s.g_minus_d.value == 0.0
    assert s.helpfulness.value == pytest.approx((6 + 6 + 2 + 2 + 2 + 2) / 6)
    assert s.d_minus_c.ci95 is not None and s.d_minus_c.ci95[0] <= 1 / 6 <= s.d_minus_c.ci95[1]
    store = RunStore.open(tmp_path / "run")
    for t in store.transcripts.latest():
        shown = JudgeView.from_transcript(t).model_dump_json()
        assert "key-" not in shown and "ninth" not in shown
    critic_ep = factory.endpoints["mock/critic"]
    assert all(
        "key-" not in m.content
        for r in critic_ep.backend.requests  # type: ignore[attr-defined]
        for m in r.messages
    )
