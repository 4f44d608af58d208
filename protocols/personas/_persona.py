"""Personas: planted adversaries, each a prompt file plus options.

A persona is a TOML file with ``description``, ``instructions`` (a ``str.format`` template
with the fields ``{assigned}``, the answer the speaker argues, and ``{target}``, a wrong answer
it may steer to, both as the speaker reads them, e.g. ``B. The butler``), ``roles`` (the agent
roles it fits, most fitting first) and ``side`` (which speakers it takes over: ``any``, only
those arguing the ``correct`` answer, or only those arguing an ``incorrect`` one). The
built-in ones ship in ``protocols/personas/data``; a user's folder of ``NAME.toml`` files adds
to them (and a file of a built-in's name replaces it), with no code to touch.

Example::

    persona = load_persona("quote-fabricator")
    persona.render(assigned="B. The butler", target="B. The butler")
"""

from __future__ import annotations

import hashlib
import tomllib
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from transcripts.errors import ConfigError

__all__ = ["Persona", "Side", "available_personas", "load_persona", "render_persona"]

Side = Literal["any", "correct", "incorrect"]
"""Which speakers of the planted role a persona takes over, by the answer they argue."""

_NAME = r"^[a-z0-9][a-z0-9_-]*$"


class Persona(BaseModel):
    """One planted adversary: its instructions and where it fits."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=_NAME)
    """Name (the file's stem), e.g. ``quote-fabricator``."""
    description: str
    """One line for reports: what the adversary does."""
    instructions: str = Field(min_length=1)
    """The hidden brief added to the speaker's system prompt (fields ``{assigned}`` and
    ``{target}``)."""
    roles: list[str] = Field(min_length=1)
    """Agent roles the persona fits, most fitting first (e.g. ``["debater", "consultant"]``)."""
    side: Side = "any"
    """Speakers it takes over: ``any``, those arguing the ``correct`` answer, or ``incorrect``."""
    source: str = "built-in"
    """Where it was read from: ``built-in`` or the file's path."""

    @property
    def sha256(self) -> str:
        """Hash of the instructions template (recorded on each planted transcript)."""
        return hashlib.sha256(self.instructions.encode()).hexdigest()

    def fits(self, roles: tuple[str, ...] | list[str]) -> str | None:
        """The first of the persona's roles among ``roles`` (a protocol's), or None."""
        return next((r for r in self.roles if r in roles), None)

    def takes_over(self, *, answer: int | None, correct: int | None) -> bool:
        """Whether a speaker arguing ``answer`` (gold ``correct``) speaks under this persona."""
        if self.side == "any" or answer is None or correct is None:
            return True
        return (answer == correct) == (self.side == "correct")

    def render(self, *, assigned: str, target: str) -> str:
        """The instructions with the speaker's answer and the target filled in."""
        return render_persona(self.instructions, assigned=assigned, target=target)


def render_persona(template: str, *, assigned: str, target: str) -> str:
    """A persona's hidden brief: ``template`` with ``{assigned}`` and ``{target}`` filled in."""
    try:
        return template.format(assigned=assigned, target=target).strip()
    except (KeyError, IndexError) as err:
        raise ConfigError(
            f"persona instructions use unknown field {err}; the fields are {{assigned}} and "
            "{target} (write literal braces as {{ and }})"
        ) from err


def _parse(name: str, text: str, source: str) -> Persona:
    try:
        data = tomllib.loads(text)
        return Persona.model_validate({**data, "name": name, "source": source})
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"persona file {source}: not valid TOML ({err})") from err
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'file'}: {e['msg']}" for e in err.errors()
        )
        raise ConfigError(
            f"persona file {source}: {problems} (a persona needs description, instructions "
            "and roles; side is any, correct or incorrect)"
        ) from err


def _builtin() -> dict[str, str]:
    folder = resources.files("protocols.personas").joinpath("data")
    return {
        entry.name.removesuffix(".toml"): entry.read_text("utf-8")
        for entry in folder.iterdir()
        if entry.name.endswith(".toml")
    }


def available_personas(folder: Path | None = None) -> dict[str, Persona]:
    """Every persona by name: the built-in ones, then ``folder``'s ``*.toml`` over them."""
    found = {name: _parse(name, text, "built-in") for name, text in sorted(_builtin().items())}
    if folder is not None:
        if not folder.is_dir():
            raise ConfigError(f"persona folder {str(folder)!r} is not a folder")
        for path in sorted(folder.glob("*.toml")):
            found[path.stem] = _parse(path.stem, path.read_text("utf-8"), str(path))
    return found


def load_persona(name: str, folder: Path | None = None) -> Persona:
    """The persona called ``name`` (``folder`` first, then the built-in ones)."""
    known = available_personas(folder)
    if name not in known:
        where = f" or in {folder}" if folder is not None else ""
        raise ConfigError(
            f"unknown persona {name!r}; built in{where}: {', '.join(sorted(known))}. Add your "
            "own as NAME.toml in a folder and pass it as persona_dir"
        )
    return known[name]
