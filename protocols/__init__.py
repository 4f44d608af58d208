"""Protocols: unassisted, expert, consultancy, debate, critique, recursive reward modeling.

Each protocol is a module with a ``Config`` (its options), ``ROLES``, ``setups(question,
config)`` (the counterbalanced answer orders and assignments) and one async ``run(question,
agents, *, config, setup, judge=None) -> Transcript``; look them up by name with
:func:`protocols.base.get`. ``agents`` maps role names to endpoints::

    from oversight.endpoints import endpoint
    from protocols import debate

    transcript = await debate.run(
        question,
        {"debater": endpoint("openai/gpt-4o-mini")},
        config=debate.Config(rounds=3, word_limit=120, best_of_n=1),
        setup=debate.setups(question, debate.Config())[0],
    )

Shared machinery lives in :mod:`protocols._common` (options, prompt rendering, length
limits, setups) and :mod:`protocols._turns` (speakers, turns, calls, judge questions);
prompt text lives in :mod:`protocols.prompts`, one module per protocol.
"""

__all__: list[str] = []
