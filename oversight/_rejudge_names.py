"""One judge name, one judge: a re-judge may not take a name the run's judges or its
earlier re-judgings use with other settings.

The report tells judges apart by name (of one transcript's judgments by one name and
rounds it counts the last; of a person's, the last of each annotator), so a second
re-judging under the same name and other options (``llm:m`` then ``llm:m,samples=3``: the
default name of both is ``m``) would replace the first in the report, and pool the two
where they judged different transcripts. Two people under one name (``human:bob``, then
``human:carol``) do not clash.
:func:`name_conflict` finds them before any call is made.

Re-judgments record their spec (``metadata.judge_spec``); a run's own judges are compared
by their ``[[judges]]`` tables in the run's ``experiment.json``. Settings are compared as
parsed configs, the name aside, an LLM judge's endpoint as what it is (its spec and
options: ``llm:weak`` is the run's judge on ``endpoint = "weak"``, ``llm:openai/m`` is
not the one on a named endpoint with a ``base_url``). The judgments log is read once,
decoded as a small struct that keeps the judge's name and two metadata keys and skips the
rest of each line (:func:`transcripts._blocks.blocks`: about half a second for 100,000
judgments of 1.8 KB); a file that is not clean (a torn tail, an older schema) is read
through the store's own reader instead.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import msgspec
from pydantic import ValidationError

from judges import parse_judge_config
from judges.config import JudgeConfig, LLMJudgeConfig
from oversight.experiment import Experiment
from oversight.experiment._judges import judge_name
from oversight.runner._prompts import changed_roles, prompt_fingerprint
from transcripts import RunStore
from transcripts._blocks import Unclean, blocks
from transcripts._models import SCHEMA_VERSION
from transcripts.errors import ConfigError

__all__ = ["name_conflict", "offline_prompts_changed"]


class _Judge(msgspec.Struct, frozen=True):
    name: str = ""


class _Meta(msgspec.Struct, frozen=True):
    rejudge: Any = None
    judge_spec: Any = None


class _Seen(msgspec.Struct, frozen=True):
    schema_version: int = SCHEMA_VERSION
    judge: _Judge = _Judge()
    metadata: _Meta = _Meta()


def _specs(store: RunStore, name: str) -> Counter[str]:
    """How many judgments re-judged under ``name`` each recorded spec has."""
    found: Counter[str] = Counter()
    try:
        for block in blocks(store.judgments.path, _Seen):
            for row in block:
                if row.judge.name == name and row.metadata.rejudge is True:
                    spec = row.metadata.judge_spec
                    if isinstance(spec, str):
                        found[spec] += 1
        return found
    except Unclean:
        found.clear()
    for j in store.judgments:  # the careful reader: torn tails, older records
        spec = j.metadata.get("judge_spec")
        if j.judge.name == name and j.metadata.get("rejudge") is True and isinstance(spec, str):
            found[spec] += 1
    return found


def _settings(spec: str | JudgeConfig, experiment: Experiment | None) -> Any:
    """The judge's settings a spec stands for (its name aside; an LLM judge's endpoint as
    what it is), or the text itself when it is not a spec (a built judge's identity)."""
    try:
        if isinstance(spec, str):
            config = parse_judge_config(json.loads(spec) if spec.lstrip()[:1] == "{" else spec)
        else:
            config = spec
    except (ConfigError, ValidationError, ValueError, TypeError):
        return spec
    # People are told apart by annotator too (the report counts each person's judgments):
    # two people under one name do not clash.
    human = config.kind == "human"
    dump = config.model_dump(exclude={"name", "annotator"} if human else {"name"})
    if isinstance(config, LLMJudgeConfig):
        named = experiment.endpoints.get(config.endpoint) if experiment is not None else None
        endpoint = {"spec": named.spec, **named.endpoint_options()} if named else {}
        dump["endpoint"] = endpoint or {"spec": config.endpoint}
    return dump


def name_conflict(
    store: RunStore, name: str, spec: str, experiment: Experiment | None
) -> str | None:
    """Why re-judging with ``spec``, whose judgments are filed under ``name``, is refused,
    or None: the run's judges (``experiment``) or its re-judgings use ``name`` with other
    settings."""
    mine = _settings(spec, experiment)
    earlier = []
    for i, config in enumerate(experiment.judges if experiment is not None else []):
        assert experiment is not None
        if judge_name(config, experiment) == name and _settings(config, experiment) != mine:
            on = f", endpoint {config.endpoint!r}" if isinstance(config, LLMJudgeConfig) else ""
            earlier.append(f"the run's judge judges[{i}] ({config.kind}{on})")
    earlier += [
        f"{n} re-judgment(s) with --judge {s!r}"
        for s, n in _specs(store, name).items()
        if _settings(s, experiment) != mine
    ]
    if not earlier:
        return None
    suggestion = (
        f"--judge {_renamed(spec)!r}"
        if ":" in spec and spec.lstrip()[:1] != "{"
        else "a name (name = NAME in the judge's table or config)"
    )
    return (
        f"judge name {name!r} is already used in {store.path} with other settings, by "
        f"{'; '.join(earlier)}; --judge {spec!r} would be filed under the same name, and the "
        f"report, which tells judges apart by name, would count its judgments in place of "
        f"those. Give this judge its own name: {suggestion}. Nothing was sent"
    )


def _renamed(spec: str) -> str:
    """``spec`` with its ``name=`` option set to ``NAME`` (added when it has none)."""
    parts = [p for p in spec.split(",") if not p.strip().startswith("name=")]
    return ",".join([*parts, "name=NAME"])


async def offline_prompts_changed(
    store: RunStore, spec: str, experiment: Experiment | None
) -> str | None:
    """Why re-judging offline with ``spec`` would fail every call, or None: a judge of the
    run with ``spec``'s settings (so its calls are the cache's to answer) sends other
    prompts today than the run recorded (:mod:`oversight.runner._prompts`)."""
    if experiment is None:
        return None
    mine = _settings(spec, experiment)
    alike = [
        judge_name(c, experiment) for c in experiment.judges if _settings(c, experiment) == mine
    ]
    recorded = (store.read_json("experiment.json") or {}).get("prompts")
    if not alike or recorded is None:
        return None
    changed = changed_roles(recorded, await prompt_fingerprint(experiment)) or []
    hit = [name for name in alike if f"judge:{name}" in changed]
    if not hit:
        return None
    return (
        f"rejudge --offline: --judge {spec!r} has the settings of the run's judge {hit[0]!r}, "
        f"whose prompts are not the ones {store.path} was run with: this oversight words or "
        f"renders them differently (a judge's template changed since), so every call would "
        f"miss the run's cache and fail. Re-judge with the oversight version that made the "
        f"run, or without --offline (the calls are sent and paid). Nothing was sent"
    )
