"""Experiment files: every example loads, and malformed files are refused with file, key and
what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from oversight.datasets import QualitySpec, SampleSpec
from oversight.experiment import Condition, Experiment, Limits, load_experiment
from transcripts.errors import ConfigError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

GOOD = """
name = "tiny"
[dataset]
loader = "sample"
limit = 2
[endpoints.strong]
spec = "mock/strong"
[endpoints.weak]
spec = "mock/weak"
[[conditions]]
label = "debate"
protocol = "debate"
roles = { debater = "strong" }
options = { rounds = 2 }
[[judges]]
kind = "llm"
name = "weak-judge"
endpoint = "weak"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "exp.toml"
    path.write_text(text)
    return path


def _error(tmp_path: Path, text: str) -> str:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_experiment(path)
    message = str(caught.value)
    assert message.startswith(str(path)), message
    return message


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.toml")))
def test_every_example_loads(name: str) -> None:
    experiment = load_experiment(EXAMPLES / name)
    assert experiment.conditions
    assert experiment.source == (EXAMPLES / name).resolve()


def test_quickstart_compares_all_six_protocols_with_a_fallback_judge() -> None:
    experiment = load_experiment(EXAMPLES / "quickstart.toml")
    protocols = {c.protocol for c in experiment.conditions}
    assert protocols == {"unassisted", "expert", "consultancy", "debate", "critique", "rrm"}
    assert [j.kind for j in experiment.judges] == ["fallback"]
    assert all(e.spec.startswith("mock/") for e in experiment.endpoints.values())


def test_the_same_model_built_in_python(tmp_path: Path) -> None:
    from_file = load_experiment(_write(tmp_path, GOOD))
    built = Experiment(
        name="tiny",
        dataset=SampleSpec(limit=2),
        endpoints={"strong": {"spec": "mock/strong"}, "weak": {"spec": "mock/weak"}},
        conditions=[
            Condition(
                label="debate",
                protocol="debate",
                roles={"debater": "strong"},
                options={"rounds": 2},
            )
        ],
        judges=[{"kind": "llm", "name": "weak-judge", "endpoint": "weak"}],
    )
    assert built.spec_hash() == from_file.spec_hash()


def test_limits_and_out_do_not_change_the_hash(tmp_path: Path) -> None:
    base = load_experiment(_write(tmp_path, GOOD))
    capped = base.model_copy(update={"limits": Limits(max_cost_usd=3.0), "out": Path("x")})
    assert capped.spec_hash() == base.spec_hash()
    other = base.model_copy(update={"repeats": 2})
    assert other.spec_hash() != base.spec_hash()


def test_unknown_key_names_the_path_and_the_allowed_keys(tmp_path: Path) -> None:
    text = GOOD.replace('spec = "mock/weak"', 'spec = "mock/weak"\nbse_url = "x"')
    message = _error(tmp_path, text)
    assert "endpoints.weak.bse_url: unknown key" in message
    assert "base_url" in message


def test_unknown_protocol_lists_the_known_ones(tmp_path: Path) -> None:
    message = _error(tmp_path, GOOD.replace('protocol = "debate"', 'protocol = "debait"'))
    assert "conditions[0].protocol: 'debait' is not a protocol" in message
    assert "consultancy" in message and "rrm" in message


def test_bad_protocol_option_is_reported_under_options(tmp_path: Path) -> None:
    message = _error(tmp_path, GOOD.replace("rounds = 2", "rounds = 0, roundz = 1"))
    assert "conditions[0].options.rounds" in message
    assert "conditions[0].options.roundz: unknown key" in message
    assert "2 problems" in message


def test_missing_role_and_unknown_endpoint(tmp_path: Path) -> None:
    message = _error(
        tmp_path, GOOD.replace('roles = { debater = "strong" }', 'roles = { debatr = "strongg" }')
    )
    expected = "conditions[0].roles.debatr: 'strongg' is not an endpoint; known: strong, weak"
    assert expected in message
    assert "needs an endpoint for the 'debater' role" in message


def test_bad_values_say_what_is_allowed(tmp_path: Path) -> None:
    text = GOOD + '[counterbalance]\norders = "some"\n[limits]\nconcurrency = 0\n'
    message = _error(tmp_path, text)
    allowed = "allowed: 'all', 'identity' or 'balanced'"
    assert f"counterbalance.orders: 'some' is not allowed; {allowed}" in message
    assert "limits.concurrency" in message and "greater than or equal to 1" in message


def test_unknown_loader_and_loader_options(tmp_path: Path) -> None:
    message = _error(tmp_path, GOOD.replace('loader = "sample"', 'loader = "qualty"'))
    assert "dataset.loader: 'qualty' is not a known loader" in message
    message = _error(
        tmp_path,
        GOOD.replace('loader = "sample"', 'loader = "quality"\npath = "q.jsonl"\nhardd = true'),
    )
    assert "dataset.hardd: unknown key" in message and "hard" in message


def test_judge_problems(tmp_path: Path) -> None:
    message = _error(tmp_path, GOOD.replace('endpoint = "weak"', 'endpoint = "weakk"'))
    assert "judges[0]: endpoint 'weakk' is not an [endpoints] entry" in message
    message = _error(tmp_path, GOOD.replace('kind = "llm"', 'kind = "robot"'))
    assert "judges[0].kind: 'robot' is not a known kind" in message
    message = _error(
        tmp_path,
        GOOD.replace("options = { rounds = 2 }", 'options = { rounds = 2 }\njudges = ["nobody"]'),
    )
    assert "conditions[0].judges: 'nobody' is not a judge; known: weak-judge" in message


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    message = _error(tmp_path, "name = ")
    assert "not valid TOML" in message
    with pytest.raises(ConfigError, match="no such experiment file"):
        load_experiment(tmp_path / "absent.toml")


def test_missing_required_keys(tmp_path: Path) -> None:
    message = _error(tmp_path, 'description = "x"\n')
    assert "name: required key is missing" in message
    assert "conditions: required key is missing" in message


def test_dataset_paths_are_read_from_the_experiment_folder(tmp_path: Path) -> None:
    text = GOOD.replace('loader = "sample"', 'loader = "quality"\npath = "data/q.jsonl"')
    experiment = load_experiment(_write(tmp_path, text))
    assert isinstance(experiment.dataset, QualitySpec)
    assert experiment.base_dir == tmp_path.resolve()


def test_extends_merges_tables_and_replaces_arrays(tmp_path: Path) -> None:
    (tmp_path / "base.toml").write_text(GOOD + "[limits]\nconcurrency = 3\nmax_cost_usd = 1.0\n")
    (tmp_path / "child.toml").write_text(
        'extends = "base.toml"\nname = "child"\n'
        '[endpoints.strong]\nspec = "openai/gpt-4o"\nmax_concurrency = 4\n'
        "[limits]\nmax_cost_usd = 5.0\n"
    )
    child = load_experiment(tmp_path / "child.toml")
    assert child.name == "child" and child.endpoints["strong"].spec == "openai/gpt-4o"
    assert child.endpoints["strong"].max_concurrency == 4
    assert child.endpoints["weak"].spec == "mock/weak"
    assert child.limits.concurrency == 3 and child.limits.max_cost_usd == 5.0
    assert [c.label for c in child.conditions] == ["debate"]
    (tmp_path / "loop.toml").write_text('extends = "loop.toml"\nname = "x"\n')
    with pytest.raises(ConfigError, match="extends itself"):
        load_experiment(tmp_path / "loop.toml")


def test_examples_change_only_the_endpoints_and_limits() -> None:
    quickstart = load_experiment(EXAMPLES / "quickstart.toml")
    for name in ("openai", "anthropic", "vllm"):
        variant = load_experiment(EXAMPLES / f"{name}.toml")
        assert variant.conditions == quickstart.conditions and variant.judges == quickstart.judges
        assert variant.dataset == quickstart.dataset
        assert set(variant.endpoints) == set(quickstart.endpoints)
        assert all(not e.spec.startswith("mock/") for e in variant.endpoints.values())


@pytest.mark.parametrize("name", ["quickstart", "openai", "anthropic", "vllm", "local"])
def test_every_example_endpoint_is_accepted_by_the_endpoint_layer(name: str) -> None:
    from oversight.endpoints import endpoint

    experiment = load_experiment(EXAMPLES / f"{name}.toml")
    for config in experiment.endpoints.values():
        made = endpoint(config.spec, cache=False, **config.endpoint_options())
        assert made.spec == config.spec


def test_independent_problems_are_all_reported_beside_invalid_entries(tmp_path: Path) -> None:
    # Three independent problems: a bad field in an endpoint, a bad field in a judge, and a
    # condition (itself valid) naming a judge that does not exist. The two field errors
    # used to hide the third; checks touching the invalid entries are still left out.
    text = (
        GOOD.replace('spec = "mock/weak"', 'spec = "mock/weak"\nmax_concurrency = 0')
        .replace('endpoint = "weak"', 'endpoint = "weak"\nsamples = 0')
        .replace("options = { rounds = 2 }", 'options = { rounds = 2 }\njudge = "nobody"')
    )
    message = _error(tmp_path, text)
    assert "3 problems:" in message, message
    assert "endpoints.weak.max_concurrency" in message
    assert "judges[0].samples: Input should be greater than or equal to 1" in message
    assert "conditions[0].judge: 'nobody' is not a judge; known: weak-judge" in message
    # The judge stand-in keeps its name, and the endpoint's name still resolves: no
    # misleading "not an endpoint" or "not a judge" about the invalid entries themselves.
    assert "is not an [endpoints] entry" not in message and "invalid" not in message
