"""What a run folder holds of its experiment (``experiment.json``), and the checks that a
resume (or a replay) is of the same experiment, questions, prompts and model files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from oversight.experiment import Experiment
from oversight.runner._build import Endpoints
from oversight.runner._prompts import changed_roles, roles_text
from oversight.runner._replay import same_experiment, spec_changes
from transcripts import Question, RunStore, utc_now
from transcripts.errors import ConfigError

__all__ = ["freeze", "freeze_models", "prompts_recorded", "questions_hash"]


def questions_hash(questions: list[Question]) -> str:
    digest = hashlib.sha256()
    for q in questions:
        digest.update(q.model_dump_json().encode())
    return digest.hexdigest()


def freeze(
    store: RunStore,
    experiment: Experiment,
    questions: list[Question],
    prompts: dict[str, Any] | None = None,
) -> None:
    """Write ``experiment.json`` (with ``prompts``, the fingerprint of the prompts each role
    sends: :mod:`oversight.runner._prompts`), or check that the folder's run is this
    experiment."""
    frozen = {
        "name": experiment.name,
        "spec_hash": experiment.spec_hash(),
        "questions_hash": questions_hash(questions),
        "questions": len(questions),
        "source": str(experiment.source) if experiment.source else None,
        "spec": experiment.frozen(),
    }
    existing = store.read_json("experiment.json")
    if existing is None:
        if prompts is not None:
            frozen["prompts"] = prompts
        store.write_json("experiment.json", {**frozen, "created_at": utc_now().isoformat()})
        return
    if not same_experiment(existing, experiment):
        raise ConfigError(
            f"{store.path} holds a run of a different experiment (changed: "
            f"{spec_changes(existing, experiment)}); only [limits], [human], out, "
            f"description and an endpoint's {', '.join(Experiment.free_endpoint_keys)} may "
            f"change when resuming. Run into a new folder (--out), or restore the experiment "
            f"as it was"
        )
    _no_rrm_switch(store, experiment)
    if existing.get("questions_hash") != frozen["questions_hash"]:
        raise ConfigError(
            f"{store.path}: the dataset's questions changed since this run began (the file "
            f"at dataset.path was edited or replaced); restore it or run into a new folder"
        )
    changed = changed_roles(existing.get("prompts"), prompts) if prompts is not None else None
    if changed:
        raise ConfigError(
            f"{store.path}: the prompts of {roles_text(changed)} are not the ones this run "
            f"began with (this oversight words or renders them differently: a protocol's or "
            f"judge's template changed since), so resuming would mix two sets of prompts in "
            f"one run. Finish it with the oversight version that began it, or run into a new "
            f"folder (--out)"
        )


def prompts_recorded(folder: Path) -> bool | None:
    """Whether the run in ``folder`` recorded its prompts; None when there is no run yet."""
    path = folder / "experiment.json"
    if not path.is_file():
        return None
    try:
        return "prompts" in json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # unreadable: freeze says so


def _no_rrm_switch(store: RunStore, experiment: Experiment) -> None:
    """Refuse to resume a run begun when ``rrm`` meant expert leaves (schema version 1):
    its missing items would be run by RRM with a weak evaluator, mixing two protocols."""
    meta = store.read_json("run.json") or {}
    version = meta.get("schema_version", 1)
    old = [c.label for c in experiment.conditions if c.protocol == "rrm"]
    if isinstance(version, int) and version < 2 and old:
        raise ConfigError(
            f"{store.path} was started with schema version {version}, when protocol 'rrm' "
            f"meant what is now 'rrm-expert-leaves' (the evaluator reads the text); resuming "
            f"would run its missing items of {', '.join(old)} with RRM's weak evaluator. Its "
            f"saved transcripts stay readable (report, show, rejudge); to run the rest, use "
            f"a new folder (--out) with protocol = 'rrm-expert-leaves' or 'rrm'"
        )


def freeze_models(store: RunStore, experiment: Experiment, endpoints: Endpoints) -> None:
    """Record each ``local/`` model's content hash in ``experiment.json``; on a resume,
    refuse a model file whose content changed (a path is not a model)."""
    refs = set(experiment.endpoints) | set(endpoints.made)
    refs |= {ref for c in experiment.conditions for ref in c.roles.values()}
    local = [ref for ref in sorted(refs) if endpoints.spec_of(ref).startswith("local/")]
    made = {ref: endpoints.get(ref) for ref in local}
    models = {
        endpoints.spec_of(ref): str(ep.backend.identity()["model"])
        for ref, ep in made.items()
        if ep.backend.provider == "local"
    }
    if not models:
        return
    frozen = store.read_json("experiment.json") or {}
    known: dict[str, str] = frozen.get("models") or {}
    changed = sorted(
        spec for spec, digest in models.items() if spec in known and known[spec] != digest
    )
    if changed:
        raise ConfigError(
            f"{store.path}: the model file of {', '.join(changed)} changed since this run "
            f"began (its content hash differs); restore it or run into a new folder"
        )
    if models.keys() - known.keys():
        store.write_json("experiment.json", {**frozen, "models": {**known, **models}})
