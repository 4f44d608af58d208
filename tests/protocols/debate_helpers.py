"""What the debate tests share: a speech that quotes the story, and a setup by order and seats."""

from __future__ import annotations

from oversight.endpoints import Request
from protocols import debate
from protocols.base import Setup

from .scripted import argue, question, round_in, speaker_in

QUOTE = "<quote>She carried forty barrels of salt cod</quote>"


def speech(request: Request) -> str:
    return argue(
        f"{speaker_in(request)} speaks in round {round_in(request)}. {QUOTE}",
        thinking=f"secret plan of {speaker_in(request)}",
    )


def setup(order: list[int], rotation: int = 0) -> Setup:
    """The setup of ``debate.setups`` with this order and seat rotation."""
    config = debate.Config(rotate_seats=True)
    chosen = [
        s
        for s in debate.setups(question(answers=len(order)), config)
        if s.order == order and s.label.endswith(f"s{rotation}")
    ]
    return chosen[0]
