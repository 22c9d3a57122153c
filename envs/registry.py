"""The environment registry: Gymnasium's and PettingZoo's registries plus envalign's catalog.

``register`` puts a single-agent environment in Gymnasium's registry and a multi-agent one in
PettingZoo's (both the ``parallel`` form and an ``aec`` form converted from it), and records catalog
metadata (:class:`EnvCard`) that ``envalign list`` and ``envalign info`` show.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from envalign.errors import EnvalignError, RegistrationError, UnknownEnvironment

FAMILIES = ("social", "collective", "tool", "embodied", "reasoning")
SIGNALS = ("scalar", "binary", "text")
ID_PATTERN = re.compile(r"^[A-Za-z][\w.-]*/[A-Za-z][\w-]*-v\d+$")

EntryPoint = str | Callable[..., Any]


@dataclass(frozen=True)
class EnvCard:
    """Catalog metadata of one registered environment.

    Attributes:
        id: ``namespace/Name-vN``.
        entry_point: ``"module:attr"`` or a callable that builds the environment.
        family: One of :data:`FAMILIES`.
        num_agents: Number of agents by default (1 means a Gymnasium environment).
        signals: Signal kinds the environment emits, from :data:`SIGNALS`.
        needs_docker: Whether the environment runs code in the Docker sandbox.
        description: One line for ``envalign list``.
        kwargs: Default keyword arguments for the entry point.
        max_episode_steps: Gymnasium time limit, if any.
        tags: Free labels (e.g. ``"rule-based-judge"``).
        policies: Named non-LLM baselines, ``name -> "module:attr"``, each a function of an
            ``ActContext`` returning the action text (``scripted``, ``random``, ``tit_for_tat``...).
        source: ``"envalign"`` or the distribution of the plugin that registered it.
    """

    id: str
    entry_point: EntryPoint
    family: str
    num_agents: int
    signals: tuple[str, ...]
    needs_docker: bool
    description: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    max_episode_steps: int | None = None
    tags: tuple[str, ...] = ()
    policies: dict[str, EntryPoint] = field(default_factory=dict)
    source: str = "envalign"

    @property
    def multi_agent(self) -> bool:
        """Whether the environment is a PettingZoo game."""
        return self.num_agents > 1

    def as_dict(self) -> dict[str, Any]:
        """Return the card as plain JSON-serialisable data."""
        return {
            "id": self.id,
            "family": self.family,
            "num_agents": self.num_agents,
            "signals": list(self.signals),
            "needs_docker": self.needs_docker,
            "description": self.description,
            "tags": list(self.tags),
            "policies": sorted(self.policies),
            "source": self.source,
            "entry_point": self.entry_point
            if isinstance(self.entry_point, str)
            else f"{self.entry_point.__module__}:{self.entry_point.__qualname__}",
        }


_CATALOG: dict[str, EnvCard] = {}
#: ``prefix -> "module:function"`` for ids written ``prefix:rest`` that no catalog entry holds; the
#: function returns the card of such an id (``openenv:ws://HOST:PORT``: envalign.envs.remote).
ID_FORMS: dict[str, EntryPoint] = {"openenv": "envalign.envs.remote.env:remote_card"}
_current_source = "envalign"


def register(
    id: str,
    entry_point: EntryPoint,
    *,
    family: str,
    description: str,
    num_agents: int | None = None,
    signals: Iterable[str] = ("scalar", "binary", "text"),
    needs_docker: bool = False,
    kwargs: dict[str, Any] | None = None,
    max_episode_steps: int | None = None,
    tags: Iterable[str] = (),
    policies: dict[str, EntryPoint] | None = None,
) -> EnvCard:
    """Register an environment with Gymnasium or PettingZoo and add it to the catalog.

    Args:
        id: ``namespace/Name-vN``; bump ``N`` when behaviour changes.
        entry_point: ``"module:attr"`` (imported on ``make``) or a callable returning the environment.
        family: ``social``, ``collective``, ``tool``, ``embodied`` or ``reasoning``.
        description: One line shown by ``envalign list``.
        num_agents: 1 for a ``gymnasium.Env``; more for a PettingZoo ``ParallelEnv``. Left out,
            it is read from the class: 1 for a ``TextEnv``, the length of ``possible_agents``
            of a ``TextParallelEnv`` (built with ``kwargs``). envalign's own catalog states it
            for its games and leaves it out only for single-agent environments, which are not
            imported to check (the conformance tests do).
        signals: Which of ``scalar``, ``binary`` and ``text`` the environment emits.
        needs_docker: Whether it needs the Docker sandbox.
        kwargs: Default keyword arguments.
        max_episode_steps: Time limit applied by ``gymnasium.make`` (single-agent only).
        tags: Free labels shown by ``envalign info``.
        policies: Named baselines (``scripted``, ``random``, ...), ``name -> "module:attr"``.

    Returns:
        The catalog card.

    Raises:
        RegistrationError: If the id or the metadata are invalid, the id is taken by another entry
            point, or (``num_agents`` left out) the entry point does not import, is neither kind
            of environment, or fails to build.
    """
    if num_agents is None:
        inferred = _current_source != "envalign"
        num_agents = _infer_num_agents(id, entry_point, kwargs) if inferred else 1
    card = EnvCard(
        id=id,
        entry_point=entry_point,
        family=family,
        num_agents=num_agents,
        signals=tuple(signals),
        needs_docker=needs_docker,
        description=description,
        kwargs=dict(kwargs or {}),
        max_episode_steps=max_episode_steps,
        tags=tuple(tags),
        policies=dict(policies or {}),
        source=_current_source,
    )
    _validate(card)
    previous = _CATALOG.get(id)
    if previous is not None:
        if previous.entry_point == card.entry_point:
            return previous
        raise RegistrationError(
            f"Environment '{id}' is already registered by {previous.source} "
            f"({previous.entry_point!r}). Choose another id or bump its version."
        )
    if card.multi_agent:
        _register_pettingzoo(card)
    else:
        _register_gymnasium(card)
    _CATALOG[id] = card
    return card


def _who(env_id: str) -> str:
    """Name the environment and the plugin registering it, for error messages."""
    plugin = "" if _current_source == "envalign" else f" (plugin {_current_source})"
    return f"'{env_id}'{plugin}"


def _infer_num_agents(env_id: str, entry_point: EntryPoint, kwargs: dict[str, Any] | None) -> int:
    """Return 1 for a Gymnasium environment, the number of agents of a PettingZoo game.

    Raises:
        RegistrationError: In one line, naming the environment, its plugin and the fix.
    """
    import gymnasium
    from pettingzoo import ParallelEnv

    try:
        target = load_entry_point(entry_point)
    except Exception as error:
        raise RegistrationError(
            f"Environment {_who(env_id)}: entry_point {entry_point!r} does not import "
            f"({type(error).__name__}: {error}); give it as 'package.module:ClassName'."
        ) from None
    kinds = (gymnasium.Env, ParallelEnv)
    if isinstance(target, type) and issubclass(target, gymnasium.Env):
        return 1
    if isinstance(target, type) and not issubclass(target, ParallelEnv):
        raise RegistrationError(_wrong_base(env_id, target))
    try:
        env = target(**(kwargs or {}))
    except Exception as error:
        raise RegistrationError(
            f"Environment {_who(env_id)}: {getattr(target, '__name__', target)}(**kwargs) "
            f"raised {type(error).__name__}: {error}; make it build with the registered kwargs, "
            "or pass num_agents=... to register without building it."
        ) from None
    if not isinstance(env, kinds):
        raise RegistrationError(_wrong_base(env_id, type(env)))
    if isinstance(env, gymnasium.Env):
        return 1
    agents = list(getattr(env, "possible_agents", []) or [])
    if not agents:
        raise RegistrationError(
            f"Environment {_who(env_id)}: the game has no possible_agents after __init__; set "
            "them (TextParallelEnv's first argument) or pass num_agents=..."
        )
    return len(agents)


def _wrong_base(env_id: str, cls: type) -> str:
    return (
        f"Environment {_who(env_id)}: {cls.__module__}.{cls.__qualname__} is neither a "
        "gymnasium.Env nor a PettingZoo ParallelEnv; subclass envalign.envs.TextEnv (one agent) "
        "or envalign.envs.TextParallelEnv (several)."
    )


def _validate(card: EnvCard) -> None:
    if not ID_PATTERN.match(card.id):
        raise RegistrationError(
            f"Invalid environment id '{card.id}': expected 'namespace/Name-vN', "
            "e.g. 'envalign/Arithmetic-v0'."
        )
    if card.family not in FAMILIES:
        raise RegistrationError(f"Unknown family '{card.family}' for '{card.id}'; use {FAMILIES}.")
    unknown = set(card.signals) - set(SIGNALS)
    if unknown or not card.signals:
        raise RegistrationError(f"Signals of '{card.id}' must be a non-empty subset of {SIGNALS}.")
    if card.num_agents < 1:
        raise RegistrationError(f"num_agents of '{card.id}' must be at least 1.")
    if not card.description or "\n" in card.description:
        raise RegistrationError(f"'{card.id}' needs a one-line description.")
    if not (isinstance(card.entry_point, str) and ":" in card.entry_point) and not callable(
        card.entry_point
    ):
        raise RegistrationError(
            f"entry_point of '{card.id}' must be 'module:attr' or a callable, "
            f"got {card.entry_point!r}."
        )


def _register_gymnasium(card: EnvCard) -> None:
    import gymnasium

    gymnasium.register(
        id=card.id,
        entry_point=card.entry_point,
        kwargs=card.kwargs,
        max_episode_steps=card.max_episode_steps,
    )


def _register_pettingzoo(card: EnvCard) -> None:
    import pettingzoo

    pettingzoo.register("parallel", card.id, entry_point=card.entry_point, kwargs=card.kwargs)
    pettingzoo.register(
        "aec",
        card.id,
        entry_point=functools.partial(_make_aec, card.entry_point),
        kwargs=card.kwargs,
    )


def load_entry_point(entry_point: EntryPoint) -> Callable[..., Any]:
    """Import ``"module:attr"`` (or return a callable as it is)."""
    if callable(entry_point):
        return entry_point
    module_name, _, attr = entry_point.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        target = getattr(target, part)
    return target


def _make_aec(entry_point: EntryPoint, **kwargs: Any) -> Any:
    from pettingzoo.utils.conversions import parallel_to_aec

    return parallel_to_aec(load_entry_point(entry_point)(**kwargs))


def spec(env_id: str) -> EnvCard:
    """Return the catalog card of ``env_id``.

    Raises:
        UnknownEnvironment: With the closest known id as a suggestion.
    """
    from envalign.envs.plugins import load_plugins

    prefix, separator, _ = env_id.partition(":")
    if separator and prefix in ID_FORMS:
        return load_entry_point(ID_FORMS[prefix])(env_id)
    load_plugins()
    try:
        return _CATALOG[env_id]
    except KeyError:
        raise UnknownEnvironment(env_id, _CATALOG) from None


def list_envs(family: str | None = None) -> list[EnvCard]:
    """Return the catalog (built-in and plugin environments), sorted by id."""
    from envalign.envs.plugins import load_plugins

    load_plugins()
    cards = sorted(_CATALOG.values(), key=lambda card: card.id)
    return [card for card in cards if family is None or card.family == family]


def make(env_id: str, *, form: Literal["parallel", "aec"] = "parallel", **kwargs: Any) -> Any:
    """Create an environment through Gymnasium or PettingZoo.

    Args:
        env_id: A registered id.
        form: For multi-agent environments, ``"parallel"`` (default) or ``"aec"``.
        **kwargs: Passed to the environment's constructor.

    Returns:
        A ``gymnasium.Env`` or a PettingZoo ``ParallelEnv`` / ``AECEnv``.
    """
    card = spec(env_id)
    if env_id not in _CATALOG:  # an ID_FORMS id: in no upstream registry
        return load_entry_point(card.entry_point)(**{**card.kwargs, **kwargs})
    if card.source != "envalign":
        return _make_plugin_env(card, form, kwargs)
    return _make_registered(card, form, kwargs)


def _make_registered(card: EnvCard, form: str, kwargs: dict[str, Any]) -> Any:
    env_id = card.id
    if card.multi_agent:
        import pettingzoo

        return pettingzoo.make(form, env_id, **kwargs)
    import gymnasium

    return gymnasium.make(env_id, **kwargs)


def _make_plugin_env(card: EnvCard, form: str, kwargs: dict[str, Any]) -> Any:
    """Build a plugin's environment; whatever its author got wrong is one RegistrationError line."""
    import gymnasium
    from pettingzoo import ParallelEnv

    who = f"'{card.id}' (plugin {card.source})"
    try:
        target = load_entry_point(card.entry_point)
    except Exception as error:
        raise RegistrationError(
            f"Environment {who}: entry_point {card.entry_point!r} does not import "
            f"({type(error).__name__}: {error}); give it as 'package.module:ClassName'."
        ) from None
    if isinstance(target, type):
        if issubclass(target, ParallelEnv) and not card.multi_agent:
            raise RegistrationError(
                f"Environment {who}: {target.__qualname__} is a PettingZoo game but was "
                "registered with num_agents=1; leave num_agents out (it is read from the class) "
                "or pass the number of agents."
            )
        if issubclass(target, gymnasium.Env) and card.multi_agent:
            raise RegistrationError(
                f"Environment {who}: {target.__qualname__} is a gymnasium.Env (one agent) but "
                f"was registered with num_agents={card.num_agents}; leave num_agents out."
            )
        if not issubclass(target, (ParallelEnv, gymnasium.Env)):
            raise RegistrationError(_wrong_base(card.id, target).replace(f"'{card.id}'", who, 1))
    try:
        return _make_registered(card, form, kwargs)
    except EnvalignError:
        raise
    except Exception as error:
        raise RegistrationError(
            f"Environment {who} failed to build: {type(error).__name__}: {error}. Fix its class "
            "or the kwargs of its register(...) call, then check it with "
            f"`python -c \"import envalign.envs as e; e.check('{card.id}')\"`."
        ) from None


def make_raw(env_id: str, **kwargs: Any) -> Any:
    """Create the environment object itself, without Gymnasium's wrappers (used by tests and tools)."""
    card = spec(env_id)
    return load_entry_point(card.entry_point)(**{**card.kwargs, **kwargs})


class _SourceScope:
    """Attribute registrations made inside the block to a plugin distribution."""

    def __init__(self, source: str) -> None:
        self.source = source

    def __enter__(self) -> None:
        global _current_source
        self._previous, _current_source = _current_source, self.source

    def __exit__(self, *exc: object) -> None:
        global _current_source
        _current_source = self._previous


def registered_by(source: str) -> _SourceScope:
    """Context manager: registrations inside it are labelled with ``source`` in the catalog."""
    return _SourceScope(source)
