"""The seats of a run's transcripts as tournaments read them: which player argued which
answer, and what a judgment of the transcript is to a tournament (:func:`kind_of`).

A run of 100,000 transcripts holds a few distinct seatings: transcripts that store the same
maps share one object of each (see :class:`oversight.analysis._rows.Shared`), so each
seating is worked out once per loaded run (:func:`seat_classes`), and its rows are then
taken as arrays.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from oversight.analysis._data import Data
from oversight.analysis._types import Ints

__all__ = ["Seat", "kind_of", "seat_classes"]


def kind_of(protocol: str, players: list[str] | list[int]) -> str | None:
    """What a judgment of a transcript is to a tournament, from its protocol and the players
    of its speakers (names or codes): ``consultancy``, ``selfplay`` (one player on every
    seat), ``match`` (two different players: cross-play, what the ratings rest on), or None
    (no player, another protocol: no part of a tournament)."""
    if protocol not in ("debate", "consultancy") or not players:
        return None
    if protocol == "consultancy":
        return "consultancy"
    if len(set(players)) == 1:
        return "selfplay"
    return "match" if len(players) == 2 else None


def seat_classes(data: Data) -> tuple[Ints, list[Seat]]:
    """Per row of ``data``, a class of its transcript's seats; per class, its protocol,
    maps and speakers with a player: transcripts storing the same maps share their objects
    (see _rows.Shared), so each class is worked out once (and once per ``data``)."""
    found = data.field_cache.get(_SEATS)
    if found is None:
        classes: dict[tuple[str, int, int], int] = {}
        seats: list[Seat] = []
        per_t = []
        for tr in data.transcripts:
            key = (tr.protocol, id(tr.assignment), id(tr.players))
            c = classes.get(key)
            if c is None:
                c = classes[key] = len(seats)
                speakers = [s for s in sorted(tr.assignment) if s in tr.players]
                seats.append(Seat(tr.protocol, tr.assignment, tr.players, speakers))
            per_t.append(c)
        codes = np.asarray(per_t, dtype=np.int64)[data.t]
        found = data.field_cache[_SEATS] = (codes, seats)
    return found


_SEATS = "\x00seats"  # its key in Data.field_cache (no field's name)


class Seat(NamedTuple):
    """One seating: the protocol, the maps its transcripts share, the speakers with a player
    (sorted)."""

    protocol: str
    assignment: dict[str, int]
    players: dict[str, str]
    speakers: list[str]
