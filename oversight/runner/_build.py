"""Building what a run needs from its experiment: endpoints and judges."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from judges import Judge, build_judge
from judges.terminal import Interrupt
from oversight.endpoints import Endpoint, endpoint
from oversight.endpoints._mock import MockBackend
from oversight.experiment import Experiment
from oversight.experiment._judges import judge_name
from oversight.runner._dry import mock_replies
from oversight.runner._meter import Meter, MeteredEndpoint
from oversight.runner._share import share_endpoint, share_options
from oversight.runner._status import check_priced
from transcripts import RunStore
from transcripts.errors import MissingAPIKeyError

__all__ = ["Endpoints", "Factory", "build_judges", "local_spec", "make_endpoint", "missing_key"]

Factory = Callable[..., Endpoint]
"""Makes an endpoint like :func:`oversight.endpoint`: ``factory(spec, **options)``, the options
including the run's ``cache`` and ``offline`` (the dry run swaps in mocks here)."""


def make_endpoint(spec: str, **options: Any) -> Endpoint:
    """:func:`oversight.endpoint`, except that a ``mock/`` endpoint without scripted replies
    answers like the dry run's mocks (:func:`oversight.runner._dry.mock_replies`)."""
    invented = spec.startswith("mock/") and options.get("replies") is None
    if invented:
        options["replies"] = mock_replies(spec.removeprefix("mock/"))
    made = endpoint(spec, **options)
    if invented and isinstance(made.backend, MockBackend):
        made.backend.keep_requests = False  # nobody reads them: memory stays flat
    return made


def local_spec(spec: str, base_dir: Path | None) -> str:
    """``spec``, with the model file of a ``local/<relative path>.gguf`` read from
    ``base_dir`` (the experiment file's folder), as dataset paths are."""
    provider, _, model = spec.partition("/")
    path = Path(model).expanduser()
    if provider != "local" or base_dir is None or path.suffix != ".gguf" or path.is_absolute():
        return spec
    return f"local/{base_dir / path}"


class Endpoints:
    """The run's endpoints, made once each, by ``[endpoints]`` name or by spec.

    Every endpoint shares the run's response cache (``cache``), so a resumed or replayed run
    answers repeated requests from it; ``offline`` makes a cache miss an error instead of a
    network call. Endpoints are made by ``factory`` (default :func:`make_endpoint`).
    """

    def __init__(
        self,
        experiment: Experiment,
        *,
        cache: Path | bool,
        offline: bool = False,
        factory: Factory | None = None,
        share: tuple[int, int] | None = None,
    ) -> None:
        self.experiment = experiment
        self.cache = cache
        self.offline = offline
        self.factory = factory or make_endpoint
        self.share = share
        """``(worker, workers)``: this process is one of several running the run, and its
        endpoints hold that worker's share of each limit (:mod:`oversight.runner._share`)."""
        self.made: dict[str, Endpoint] = {}
        """Endpoints made so far, by the name or spec they were asked for."""

    def get(self, ref: str) -> Endpoint:
        """The endpoint named ``ref`` in ``[endpoints]``, or made from the spec ``ref``."""
        made = self.made.get(ref)
        if made is None:
            config = self.experiment.endpoints.get(ref)
            spec, options = (config.spec, config.endpoint_options()) if config else (ref, {})
            spec = local_spec(spec, self.experiment.base_dir)
            if self.share is not None:
                options = share_options(options, *self.share)
            made = self.factory(spec, cache=self.cache, offline=self.offline, **options)
            if self.share is not None:
                share_endpoint(made, *self.share)
            self.made[ref] = made
        return made

    def check_credentials(self) -> None:
        """Refuse to start, naming the variable, when an endpoint of the run lacks its key.

        Nothing is checked offline: a replay answers from the cache and needs no key.
        """
        if self.offline:
            return
        for ref in self._refs():
            try:
                self.get(ref).check_credentials()
            except MissingAPIKeyError as error:
                raise MissingAPIKeyError(
                    missing_key(self.experiment, ref, self.spec_of(ref), error.variable),
                    variable=error.variable,
                ) from None

    def check_priced(self) -> None:
        """Refuse a cost cap the run could not hold (:func:`check_priced`). Nothing is
        checked offline: a replay answers from the cache, at no cost."""
        if not self.offline:
            check_priced({ref: self.get(ref) for ref in self._refs()})

    def every(self) -> list[Endpoint]:
        """Every endpoint the experiment names (made now if not yet)."""
        return [self.get(ref) for ref in self._refs()]

    def _refs(self) -> list[str]:
        refs = set(self.experiment.endpoints) | set(self.made)
        refs |= {ref for c in self.experiment.conditions for ref in c.roles.values()}
        return sorted(refs)

    def spec_of(self, ref: str) -> str:
        """The endpoint spec ``ref`` stands for."""
        config = self.experiment.endpoints.get(ref)
        return config.spec if config is not None else ref

    async def aclose(self) -> None:
        """Close every endpoint made."""
        for made in self.made.values():
            await made.aclose()


def missing_key(experiment: Experiment, ref: str, spec: str, variable: str | None) -> str:
    """What to do about the missing key of the endpoint ``ref`` (``spec``), said where the
    experiment gives it: a file's ``[endpoints.NAME]`` table, or a dict's entry."""
    variable = variable or "its key variable"
    source = experiment.source
    unset = (
        f"needs an API key and none is set: set the environment variable {variable} "
        f"(export {variable}=... in the shell that runs oversight)"
    )
    if ref not in experiment.endpoints:
        if source is None:
            return (
                f'{spec} {unset}, or give it an endpoints["NAME"] entry with "spec": "{spec}" '
                f'and "api_key_env": "NAME" naming the variable that holds its key'
            )
        return (
            f"{spec} (named inline in {source}) {unset}, or give it an [endpoints.NAME] "
            f'table with spec = "{spec}" and api_key_env = "NAME" naming the variable that '
            f"holds its key (the key itself never goes in the file)"
        )
    if source is None:
        return (
            f'endpoints["{ref}"] ({spec}) {unset}, or name another variable with '
            f'"api_key_env": "NAME" in endpoints["{ref}"]'
        )
    return (
        f"[endpoints.{ref}] in {source} ({spec}) {unset}, or name another variable with "
        f'api_key_env = "NAME" in [endpoints.{ref}] (the key itself never goes in the file)'
    )


def build_judges(
    experiment: Experiment,
    endpoints: Endpoints,
    meter: Meter,
    store: RunStore,
    *,
    console: Console | None = None,
    interrupt: Interrupt | None = None,
) -> dict[str, Judge]:
    """The experiment's judges by name, on metered endpoints of the run; a person's prompt
    ends when ``interrupt`` is set (the session's Ctrl-C)."""

    def factory(ref: str) -> Endpoint:
        return MeteredEndpoint(endpoints.get(ref), meter)

    built: dict[str, Judge] = {}
    for config in experiment.judges:
        judge = build_judge(
            config, endpoint_factory=factory, store=store, console=console, interrupt=interrupt
        )
        built[judge_name(config, experiment)] = judge
    return built
