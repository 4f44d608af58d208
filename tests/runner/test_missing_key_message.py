"""A missing API key stops a run before any request, with a message that names the setting
where the user gives it: ``api_key_env`` in the endpoint's table for an experiment file,
``endpoint(..., api_key=...)`` from Python; the environment variable in both. No key's value
is ever printed."""

from __future__ import annotations

from pathlib import Path

import pytest

import oversight
from oversight.cli import main
from oversight.endpoints import endpoint
from oversight.errors import ConfigError, MissingAPIKeyError
from oversight.testing import (
    FAKE_KEY_VARIABLE,
    FakeOpenAIServer,
    fake_experiment,
    scripted_verdict,
)

OTHER_KEY = "sk-test-NEVER-PRINTED-0123456789abcdef"
"""A key in another provider's variable: no message may show it."""


def _flat(text: str) -> str:
    return " ".join(text.split())  # rich wraps long lines


class Done:
    """What ``oversight ARGS`` gave: its exit status and output. The command runs in this
    process (:func:`oversight.cli.main`): the messages are the subject here, not the process;
    an exception no handler turned into a message fails the test."""

    def __init__(self, capsys: pytest.CaptureFixture[str], *args: str) -> None:
        self.returncode = main(list(args))
        self.stdout, self.stderr = capsys.readouterr()


@pytest.fixture
def no_fake_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake endpoints' key variable unset, in the run's own folder."""
    monkeypatch.delenv(FAKE_KEY_VARIABLE, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.mark.usefixtures("no_fake_key")
def test_the_cli_names_the_experiment_file_setting_and_sends_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OTHER_KEY)
    with FakeOpenAIServer() as server:
        exp = tmp_path / "fake.toml"
        exp.write_text(fake_experiment(server.base_url))
        done = Done(capsys, "run", str(exp), "--out", str(tmp_path / "run"), "--no-progress")
        assert server.total_requests == 0
    err = _flat(done.stderr)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in err
    assert f"[endpoints.second] in {exp}" in err  # the first endpoint by name
    assert f"set the environment variable {FAKE_KEY_VARIABLE}" in err
    assert f"export {FAKE_KEY_VARIABLE}=" in err
    assert 'api_key_env = "NAME" in [endpoints.second]' in err
    assert "endpoint()" not in err and "api_key=" not in err
    assert OTHER_KEY not in done.stdout + done.stderr


def test_an_endpoint_named_inline_in_a_file_is_told_to_get_a_table(tmp_path: Path) -> None:
    exp = tmp_path / "inline.toml"
    exp.write_text(
        'name = "inline"\n[dataset]\nloader = "sample"\nlimit = 1\n'
        '[[conditions]]\nlabel = "consultancy"\nprotocol = "consultancy"\n'
        'roles = { consultant = "openai/gpt-4o-mini" }\n'
        '[[judges]]\nkind = "llm"\nname = "judge"\nendpoint = "mock/weak"\n'
    )
    with pytest.raises(MissingAPIKeyError) as raised:
        oversight.run_experiment(exp, out=tmp_path / "run", progress=False, summary=False)
    message = str(raised.value)
    assert "openai/gpt-4o-mini (named inline in" in message
    assert "set the environment variable OPENAI_API_KEY" in message
    assert '[endpoints.NAME] table with spec = "openai/gpt-4o-mini"' in message
    assert 'api_key_env = "NAME"' in message and "endpoint()" not in message


def test_python_names_endpoint_api_key_and_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OTHER_KEY)
    made = endpoint(
        "openai/gpt-4o-mini", base_url="http://127.0.0.1:9/v1", api_key_env="MY_KEY", cache=False
    )
    with pytest.raises(MissingAPIKeyError) as raised:
        made.check_credentials()
    message = str(raised.value)
    assert "set the environment variable MY_KEY" in message
    assert "endpoint(..., api_key=...)" in message
    assert 'api_key_env = "NAME"' in message  # the experiment file's form, named too
    assert OTHER_KEY not in message


def test_an_experiment_from_python_names_its_endpoints_entry(tmp_path: Path) -> None:
    experiment = oversight.load_experiment(
        {
            "name": "dict",
            "dataset": {"loader": "sample", "limit": 1},
            "endpoints": {
                "strong": {"spec": "openai/gpt-4o-mini"}  # OpenAI's own server: a key is needed
            },
            "conditions": [
                {"label": "c", "protocol": "consultancy", "roles": {"consultant": "strong"}}
            ],
            "judges": [{"kind": "llm", "name": "judge", "endpoint": "mock/weak"}],
        }
    )
    with pytest.raises(MissingAPIKeyError) as raised:
        oversight.run_experiment(experiment, out=tmp_path / "run", progress=False, summary=False)
    message = str(raised.value)
    assert 'endpoints["strong"] (openai/gpt-4o-mini)' in message
    assert "set the environment variable OPENAI_API_KEY" in message
    assert '"api_key_env": "NAME"' in message


def test_a_key_given_as_the_model_is_not_repeated() -> None:
    made = endpoint(f"openai/{OTHER_KEY}", api_key_env="MY_KEY", cache=False)
    with pytest.raises(MissingAPIKeyError) as raised:
        made.check_credentials()
    assert "openai/*** needs an API key" in str(raised.value)
    assert OTHER_KEY not in str(raised.value)


@pytest.mark.usefixtures("no_fake_key")
def test_the_key_moved_to_another_variable_and_a_lower_rate_resume_the_same_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Following the message (``api_key_env = "NAME"``) and slowing the endpoint down are
    not a different experiment: the run they then start resumes as the same run. A changed
    model still is."""
    with FakeOpenAIServer(reply=scripted_verdict) as server:
        exp = tmp_path / "fake.toml"
        text = fake_experiment(server.base_url)
        exp.write_text(text)
        monkeypatch.setenv("MOVED_KEY", "sk-fake-moved")

        def run() -> Done:
            return Done(capsys, "run", str(exp), "--out", str(tmp_path / "run"), "--no-progress")

        assert run().returncode == 1 and server.total_requests == 0
        moved = text.replace(f'api_key_env = "{FAKE_KEY_VARIABLE}"', 'api_key_env = "MOVED_KEY"')
        exp.write_text(moved.replace("max_retries = 1\n", "max_retries = 2\nrpm = 6000\n"))
        done = run()
        assert done.returncode == 0, done.stdout + done.stderr
        assert server.total_requests > 0
        exp.write_text(moved.replace('"openai/weak-model"', '"openai/weak-model-2"'))
        refused = run()
    assert refused.returncode == 1
    assert "endpoints.weak.spec: 'openai/weak-model' -> 'openai/weak-model-2'" in _flat(
        refused.stderr
    )


@pytest.mark.usefixtures("no_fake_key")
def test_a_refused_run_writes_nothing_and_the_same_command_then_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No key: no run folder is made (an existing empty one stays empty), so `oversight show`
    finds no empty run; with the key set, the same command runs from the start."""
    with FakeOpenAIServer(reply=scripted_verdict) as server:
        exp = tmp_path / "fake.toml"
        exp.write_text(fake_experiment(server.base_url))
        (tmp_path / "made").mkdir()  # a folder the user made for the run beforehand

        def cli(*args: str) -> Done:
            return Done(capsys, *args)

        for out in ("run", "made"):
            refused = cli("run", str(exp), "--out", str(tmp_path / out), "--no-progress")
            assert refused.returncode == 1, refused.stdout + refused.stderr
            assert f"set the environment variable {FAKE_KEY_VARIABLE}" in _flat(refused.stderr)
        assert not (tmp_path / "run").exists()
        assert list((tmp_path / "made").iterdir()) == []
        assert server.total_requests == 0
        shown = cli("show", str(tmp_path / "run"))
        assert shown.returncode == 1 and "no run folder at" in _flat(shown.stderr)
        reported = cli("report", str(tmp_path / "made"))
        assert reported.returncode == 1 and "is not a run folder" in _flat(reported.stderr)

        monkeypatch.setenv(FAKE_KEY_VARIABLE, "sk-fake-now-set")
        done = cli("run", str(exp), "--out", str(tmp_path / "run"), "--no-progress")
        assert done.returncode == 0, done.stdout + done.stderr
        shown = cli("show", str(tmp_path / "run"))
    assert shown.returncode == 0, shown.stderr
    assert "complete · 32 of 32 items" in _flat(shown.stdout)


def test_a_cost_cap_without_a_price_is_refused_before_the_folder_is_made(tmp_path: Path) -> None:
    experiment = oversight.load_experiment(
        {
            "name": "unpriced",
            "dataset": {"loader": "sample", "limit": 1},
            "endpoints": {
                "strong": {"spec": "openai/own-model", "base_url": "http://127.0.0.1:9/v1"}
            },
            "conditions": [
                {"label": "c", "protocol": "consultancy", "roles": {"consultant": "strong"}}
            ],
            "judges": [{"kind": "llm", "name": "judge", "endpoint": "mock/weak"}],
            "limits": {"max_cost_usd": 1.0},
        }
    )
    with pytest.raises(ConfigError, match="cannot be held"):
        oversight.run_experiment(experiment, out=tmp_path / "run", progress=False, summary=False)
    assert not (tmp_path / "run").exists()
