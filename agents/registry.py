"""Resolve a policy from its name on the command line.

``random``, ``scripted`` and any other baseline the environment registered resolve to a
:class:`~envalign.agents.baselines.BaselinePolicy`. Other kinds of policy (``hf:PATH``, model
presets) register a loader here under a prefix or a name.
"""

from __future__ import annotations

from collections.abc import Callable

from envalign.agents.base import Policy
from envalign.agents.baselines import baseline_policy
from envalign.envs.errors import ConfigError

#: ``prefix -> loader(argument, env_id)`` for names written ``prefix:argument``.
PREFIX_LOADERS: dict[str, Callable[[str, str], Policy]] = {}
#: ``name -> loader(env_id)`` for whole names (model presets such as ``smollm2-135m-instruct``).
NAMED_LOADERS: dict[str, Callable[[str], Policy]] = {}


def _load_transformers(name_or_path: str, display_name: str) -> Policy:
    from envalign.agents.transformers_policy import TransformersPolicy

    return TransformersPolicy.from_pretrained(name_or_path, name=display_name)


def _hf_loader(argument: str, env_id: str) -> Policy:
    if not argument:
        raise ConfigError(
            "Write a model after 'hf:': a saved transformers folder (hf:./my-model) or a .gguf "
            "file (hf:model.gguf); for the default model use --policy smollm2-135m-instruct "
            "(`envalign models pull smollm2-135m-instruct` fetches it)."
        )
    return _load_transformers(argument, f"hf:{argument}")


def _preset_loader(preset: str) -> Callable[[str], Policy]:
    def load(env_id: str) -> Policy:
        return _load_transformers(preset, preset)

    return load


PREFIX_LOADERS["hf"] = _hf_loader
NAMED_LOADERS["smollm2-135m-instruct"] = _preset_loader("smollm2-135m-instruct")
NAMED_LOADERS["tiny-random"] = _preset_loader("tiny-random")


def resolve_policy(name: str, env_id: str) -> Policy:
    """Return the policy that ``name`` denotes for ``env_id``.

    Raises:
        ConfigError: If nothing of that name exists, listing what does.
    """
    prefix, separator, argument = name.partition(":")
    if separator and prefix in PREFIX_LOADERS:
        return PREFIX_LOADERS[prefix](argument, env_id)
    if name in NAMED_LOADERS:
        return NAMED_LOADERS[name](env_id)
    return baseline_policy(env_id, name)
