"""Judges from spec strings and from the experiment file's [[judges]] tables."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

import judges
from judges import (
    FallbackJudge,
    HumanJudge,
    LLMJudge,
    LLMJudgeConfig,
    PanelJudge,
    build_judge,
    parse_judge_config,
)
from oversight.endpoints import Endpoint, MockBackend
from transcripts import JudgeView
from transcripts.errors import ConfigError

from .helpers import saved_run, transcript

TOML = """
[[judges]]
name = "weak"
kind = "llm"
endpoint = "mock/weak"
samples = 5
combine = "majority"

[[judges]]
name = "trio"
kind = "panel"
combine = "mean"
members = ["llm:mock/a", { kind = "llm", endpoint = "mock/b", mode = "logprobs" }]

[[judges]]
name = "weak+human"
kind = "fallback"
endpoint = "mock/weak"
threshold = 0.7
mode = "deferred"

[[judges]]
name = "panel+human"
kind = "fallback"
members = ["llm:mock/a", "llm:mock/b"]
on_disagreement = true
mode = "interactive"
annotator = "alice"
"""


class Factory:
    """An endpoint factory that records what it built (as a runner's would share options)."""

    def __init__(self) -> None:
        self.built: list[str] = []

    def __call__(self, spec: str) -> Endpoint:
        self.built.append(spec)
        reply = json.dumps({"rationale": "", "probabilities": {"A": 0.6, "B": 0.4}})
        # Any spec, answered by a scripted backend: no network, no keys.
        return Endpoint(spec, MockBackend(spec, lambda request: reply))


def test_spec_strings() -> None:
    factory = Factory()
    judge = build_judge(
        "llm:mock/x,samples=3,combine=majority,mode=logprobs", endpoint_factory=factory
    )
    assert isinstance(judge, LLMJudge)
    o = judge.options
    assert (o.samples, o.combine, o.mode) == (3, "majority", "logprobs")
    assert judge.identity.name == "mock/x" and factory.built == ["mock/x"]

    bare = build_judge("openai/gpt-4o-mini", endpoint_factory=factory)
    assert isinstance(bare, LLMJudge) and bare.identity.model == "openai/gpt-4o-mini"

    human = build_judge("human:alice")
    assert isinstance(human, HumanJudge) and human.identity.annotator == "alice"
    assert isinstance(build_judge("human", annotator="bob"), HumanJudge)

    panel = build_judge(
        "panel:llm=mock/a,llm=mock/b,combine=majority,name=duo", endpoint_factory=factory
    )
    assert isinstance(panel, PanelJudge) and panel.identity.name == "duo"
    assert [m.identity.name for m in panel.members] == ["mock/a", "mock/b"]

    live = build_judge(
        "fallback:llm=mock/x,mode=interactive,human=alice,threshold=0.8", endpoint_factory=factory
    )
    assert isinstance(live, FallbackJudge) and isinstance(live.human, HumanJudge)
    assert live.policy.threshold == 0.8 and live.mode == "interactive"


async def test_a_deferred_fallback_from_a_spec_queues_into_the_store(tmp_path: Path) -> None:
    store = saved_run(tmp_path / "run", [transcript()])
    judge = build_judge(
        "fallback:llm=mock/x,threshold=0.7,mode=deferred", store=store, endpoint_factory=Factory()
    )
    assert isinstance(judge, FallbackJudge) and judge.identity.name == "fallback"
    judgment = await judge.judge(JudgeView.from_transcript(transcript()))
    assert judgment.escalated and len(list(store.escalations)) == 1


def test_toml_judges_tables(tmp_path: Path) -> None:
    tables = tomllib.loads(TOML)["judges"]
    configs = [parse_judge_config(t) for t in tables]
    assert [c.kind for c in configs] == ["llm", "panel", "fallback", "fallback"]
    factory = Factory()
    store = saved_run(tmp_path / "run", [])
    built = [judges.build_judge(c, endpoint_factory=factory, store=store) for c in configs]
    assert [j.identity.name for j in built] == ["weak", "trio", "weak+human", "panel+human"]
    assert [j.identity.kind for j in built] == ["llm", "panel", "fallback", "fallback"]
    trio = built[1]
    assert isinstance(trio, PanelJudge)
    assert isinstance(trio.members[1], LLMJudge) and trio.members[1].options.mode == "logprobs"
    panel_human = built[3]
    assert isinstance(panel_human, FallbackJudge)
    assert isinstance(panel_human.primary, PanelJudge)
    assert panel_human.policy.on_disagreement and panel_human.mode == "interactive"
    assert factory.built == ["mock/weak", "mock/a", "mock/b", "mock/weak", "mock/a", "mock/b"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"kind": "oracle", "endpoint": "mock/x"}, "kind"),
        ({"kind": "llm", "endpoint": "mock/x", "sampels": 3}, "sampels"),
        ({"kind": "llm"}, "endpoint"),
        ("llm:mock/x,samples=0", "samples"),
        ("fallback:llm=mock/x,members=1", "members"),
        ({"kind": "fallback", "threshold": 0.7}, "exactly one of primary, endpoint or members"),
        ({"kind": "panel", "members": []}, "members"),
        ("llm:mock/x,extra", "key=value"),
        ("lmm:mock/x", "'lmm' is not a judge kind; kinds: llm, human, fallback, panel"),
        ("humna:bob", "'humna' is not a judge kind"),  # (was: "unknown provider 'humna:bob'")
        # A key given twice is an error, not the last one silently winning:
        ("llm:mock/x,samples=3,samples=5", "'samples' is given twice"),
        ("llm:mock/x,endpoint=mock/y", "'endpoint' is given twice"),
        ("fallback:llm=mock/a,llm=mock/b", "'llm' is given twice.*members"),
        ("fallback:llm=mock/a,human=ann,human=bob,mode=interactive", "'human' is given twice"),
    ],
)
def test_bad_configs_say_what_is_wrong(spec: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_judge(spec, endpoint_factory=Factory())  # type: ignore[arg-type]


def test_missing_partners_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="annotator"):
        build_judge("human")
    with pytest.raises(ConfigError, match="no run store"):
        build_judge("fallback:llm=mock/x", endpoint_factory=Factory())


def test_config_objects_pass_through() -> None:
    config = LLMJudgeConfig(endpoint="mock/x", name="weak")
    assert parse_judge_config(config) is config
    assert build_judge(config, endpoint_factory=Factory()).identity.name == "weak"


def test_public_names_are_exported_sorted() -> None:
    assert list(judges.__all__) == sorted(judges.__all__)
    for name in judges.__all__:
        assert hasattr(judges, name)


async def test_seed_and_concurrency_are_one_option_list_in_python_toml_and_specs() -> None:
    view = JudgeView.from_transcript(transcript())
    table = tomllib.loads(
        '[[judges]]\nkind = "llm"\nendpoint = "mock/x"\nseed = 7\nconcurrency = 2\nsamples = 2\n'
    )["judges"][0]
    factories = [Factory() for _ in range(3)]
    built = [
        LLMJudge(factories[0]("mock/x"), seed=7, concurrency=2, samples=2),
        build_judge(table, endpoint_factory=factories[1]),
        build_judge("llm:mock/x,seed=7,concurrency=2,samples=2", endpoint_factory=factories[2]),
    ]
    for judge in built:
        assert isinstance(judge, LLMJudge)
        assert (judge.options.seed, judge.options.concurrency) == (7, 2)
        await judge.judge(view)
        sent = judge.endpoint.backend.requests  # type: ignore[attr-defined]
        assert sorted(r.seed for r in sent) == [7, 8]  # a seed per sample


@pytest.mark.parametrize(
    ("spec", "allowed"),
    [
        ("llm:mock/x,sede=1", "seed"),
        ("fallback:llm=mock/x,treshold=0.7", "threshold"),
        ({"kind": "fallback", "endpoint": "mock/x", "treshold": 0.7}, "threshold"),
        ({"kind": "panel", "members": ["llm:mock/a"], "combin": "mean"}, "combine"),
    ],
)
def test_an_unknown_key_names_the_allowed_ones(spec: object, allowed: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build_judge(spec, endpoint_factory=Factory())  # type: ignore[arg-type]
    message = str(caught.value)
    assert "unknown key; allowed here:" in message and allowed in message
    assert "allowed here: none" not in message


def test_a_constructor_refuses_an_unknown_option_with_the_allowed_ones() -> None:
    with pytest.raises(ConfigError, match=r"sampels: unknown key; allowed here: .*samples"):
        LLMJudge(Factory()("mock/x"), sampels=3)


@pytest.mark.parametrize(
    "spec",
    [
        "fallback:llm=mock/x,samples=5,on_disagreement=true",
        {"kind": "fallback", "primary": "llm:mock/x", "on_disagreement": True},
    ],
)
def test_on_disagreement_without_a_panel_is_an_error_not_an_option_that_does_nothing(
    spec: object,
) -> None:
    # Only a panel has an agreement; an LLM judge's samples never escalated on it.
    with pytest.raises(ConfigError, match=r"on_disagreement needs a panel.*threshold"):
        build_judge(spec, endpoint_factory=Factory())  # type: ignore[arg-type]
    for panel in (
        {"members": ["llm:mock/a", "llm:mock/b"]},
        {"primary": "panel:llm=mock/a,llm=mock/b"},
    ):
        config = parse_judge_config({"kind": "fallback", "on_disagreement": True, **panel})
        assert config.kind == "fallback" and config.on_disagreement
