"""Sealing a stress run for a blinded red team / blue team exercise.

:func:`seal` writes a *blue-team copy* of a stress run: the transcripts of every stressed
benign condition (one with a planted twin) and
every transcript that carries a planted persona, shuffled, under fresh random ids, with the
condition set back to the benign twin's label and everything that could tell them apart
removed: ``planted``, the calls on the turns (a planted call's input tokens and request hash
would give it away), the endpoints, metadata beyond the setup label, and the creation times
(planted conditions run after benign ones; every transcript gets the time of sealing).
Transcripts of a planted condition on which the persona never spoke are left out: they replay
the benign transcript word for word, so a pair of identical transcripts would reveal both as
benign.

The *key* (which blue id carried which persona, and the red id it came from, with a random
salt) is written to a separate file outside the blue copy, by default in the red run's folder.
The blue copy's ``sealed.json`` and the red run's ``blind.json`` hold its SHA-256 commitment,
so ``oversight unseal`` can prove the key it scores against is the one sealed before any label
was written.
"""

from __future__ import annotations

import hashlib
import json
import random
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from oversight.analysis._twins import benign_twins
from transcripts import RunStore, Transcript, new_id, utc_now, write_json_atomic
from transcripts.errors import ConfigError

__all__ = ["KEY_NAME", "SEALED_NAME", "commitment", "read_key", "seal"]

KEY_NAME = "stress-key.json"
"""Default file name of the key, in the red run's folder."""
SEALED_NAME = "sealed.json"
"""File of the blue copy holding the key's commitment."""


def commitment(key_bytes: bytes) -> str:
    """The SHA-256 hex digest of the key file's bytes."""
    return hashlib.sha256(key_bytes).hexdigest()


def _benign_twins(store: RunStore) -> dict[str, str]:
    """Condition label -> its benign twin's (a benign condition: itself)."""
    spec = (store.read_json("experiment.json") or {}).get("spec", {})
    conditions: list[dict[str, Any]] = spec.get("conditions", [])
    itself = {str(c["label"]): str(c["label"]) for c in conditions if not c.get("plant")}
    return {**itself, **benign_twins(conditions)}


def _blinded(
    t: Transcript, blue_id: str, run_id: str, condition: str, sealed_at: datetime
) -> Transcript:
    turns = [turn.model_copy(update={"call": None}) for turn in t.turns]
    return t.model_copy(
        update={
            "id": blue_id,
            "run_id": run_id,
            "condition": condition,
            "planted": None,
            "turns": turns,
            "metadata": {"setup": t.metadata.get("setup", "")},
            "roles": {},
            "created_at": sealed_at,
        }
    )


def seal(red: str | Path, blue: str | Path, *, key: str | Path | None = None) -> Path:
    """Write the blue-team copy of the stress run ``red`` into ``blue`` and its key to
    ``key`` (default ``red/stress-key.json``); returns the key's path."""
    store = RunStore.open(red)
    blue_path, key_path = Path(blue), Path(key) if key is not None else store.path / KEY_NAME
    if blue_path.resolve() == store.path.resolve():
        raise ConfigError("the blue copy needs its own folder; pass --blue DIR")
    if blue_path.exists() and any(blue_path.iterdir()):
        raise ConfigError(
            f"{blue_path} is not empty (a blue copy sealed before?); the blue copy "
            "is written to a new folder: pass another --blue"
        )
    if key_path.exists():
        raise ConfigError(
            f"{key_path} already holds a key (of an earlier blue copy); it is never "
            "overwritten: pass another --key"
        )
    if key_path.resolve().is_relative_to(blue_path.resolve()):
        raise ConfigError(
            f"the key {key_path} would be inside the blue copy {blue_path}; "
            "put it elsewhere (--key)"
        )
    twins = _benign_twins(store)
    stressed = {base for label, base in twins.items() if label != base}
    twinned = tuple(sorted(label for label, base in twins.items() if base in stressed))
    chosen = [  # the stressed conditions' and their twins' complete transcripts, from the index
        t
        for t in store.transcripts.latest(where={"c": twinned, "status": "complete"})
        if t.planted is not None or t.condition in stressed
    ]
    if not any(t.planted for t in chosen):
        raise ConfigError(
            f"{store.path} holds no planted transcript; make one with "
            "oversight stress EXPERIMENT.toml"
        )
    random.Random(secrets.randbits(64)).shuffle(chosen)
    out = RunStore.create(blue_path)
    entries: dict[str, dict[str, Any]] = {}
    sealed_at = utc_now()
    for t in chosen:
        blue_id = new_id()
        out.transcripts.append(_blinded(t, blue_id, out.run_id, twins[t.condition], sealed_at))
        entries[blue_id] = {
            "red_id": t.id,
            "condition": t.condition,
            "persona": t.planted.persona if t.planted else None,
        }
    spec = (store.read_json("experiment.json") or {}).get("spec", {})
    benign_spec = {
        **spec,
        "conditions": [c for c in spec.get("conditions", []) if not c.get("plant")],
        "stress": None,
    }
    out.write_json(
        "experiment.json",
        {"name": spec.get("name", ""), "spec": benign_spec, "blue_team_copy": True},
    )
    key_data = {
        "salt": secrets.token_hex(16),
        "red_run": str(store.path.resolve()),
        "blue_run_id": out.run_id,
        "transcripts": entries,
    }
    key_bytes = json.dumps(key_data, indent=2, sort_keys=True).encode()
    key_path.parent.mkdir(parents=True, exist_ok=True)
    aside = key_path.with_name(f".{key_path.name}.tmp")
    aside.write_bytes(key_bytes)
    aside.replace(key_path)
    sealed = {
        "commitment": commitment(key_bytes),
        "algorithm": "sha256 of the key file",
        "transcripts": len(chosen),
        "sealed_at": sealed_at.isoformat(),
        "personas": sorted({e["persona"] for e in entries.values() if e["persona"]}),
    }
    out.write_json(SEALED_NAME, sealed)
    write_json_atomic(
        store.path / "blind.json",
        {**sealed, "blue": str(blue_path.resolve()), "key": str(key_path.resolve())},
    )
    out.close()
    return key_path


def read_key(blue: RunStore, key: str | Path) -> dict[str, str | None]:
    """Blue id -> persona (None: benign) from the key file, after checking it against the
    blue copy's commitment."""
    sealed = blue.read_json(SEALED_NAME)
    if not isinstance(sealed, dict) or "commitment" not in sealed:
        raise ConfigError(
            f"{blue.path} has no {SEALED_NAME}: it is not a blue-team copy "
            "written by oversight stress --blind"
        )
    path = Path(key)
    if not path.is_file():
        raise ConfigError(
            f"key file {path} not found; it was written by oversight stress "
            "--blind (default: RUN/stress-key.json in the red run)"
        )
    data = path.read_bytes()
    if commitment(data) != sealed["commitment"]:
        raise ConfigError(
            f"the key {path} does not match the commitment sealed in {blue.path / SEALED_NAME} "
            "(it was changed, or belongs to another blue copy); nothing was scored"
        )
    entries: dict[str, dict[str, Any]] = json.loads(data)["transcripts"]
    return {blue_id: e.get("persona") for blue_id, e in entries.items()}
