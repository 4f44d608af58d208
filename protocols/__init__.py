"""Protocols: unassisted, expert, consultancy, debate, critique, recursive reward modeling."""

__all__: list[str] = []
