"""Prompt text of every protocol, as ``render_*`` functions (one module per protocol).

Each function takes keyword fields and returns a stripped string. The protocols call them
through :func:`protocols._common.render`, which lets a user replace any of them without
touching code:

* in Python: ``Config(prompts={"render_debater_turn": my_function})`` — called with the
  same keyword fields;
* as a template: ``Config(prompts={"render_debater_turn": "Round {round}: ..."})`` —
  formatted with ``str.format`` (write literal braces as ``{{`` and ``}}``);
* as files: ``Config(prompt_dir="prompts/")`` with ``prompts/render_debater_turn.txt``;
* by name, e.g. from an experiment file:
  ``prompts = {render_debater_turn = "python:my_package.prompts.debater_turn"}``.

A template or function receives exactly the render function's own parameters as fields,
so an override cannot show a role anything its default prompt does not: the preference
judge's prompt has no ``context`` field, so no override can leak the hidden text to it.
Most prompts take ``question``, ``answers`` (one per line, lettered in the judge's order),
``context`` (the hidden text, only in prompts of roles entitled to it) and ``limit`` (the
length limit in words, empty without one); see each function for the rest.
"""
