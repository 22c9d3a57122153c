"""envalign.envs: text conventions, the registry and plugins, and the environment families.

Importing this package registers the built-in environments with Gymnasium and PettingZoo (cheaply:
entry points are strings) and loads third-party plugins from the ``envalign.envs`` entry-point group.
"""

from envalign.envs.catalog import register_builtins
from envalign.envs.core import SINGLE_AGENT, ActContext, TextEnv, TextParallelEnv, read_action
from envalign.envs.errors import (
    ConfigError,
    ConformanceError,
    DependencyNotInstalled,
    EnvalignError,
    InvalidInfo,
    RegistrationError,
    SandboxError,
    SandboxUnavailable,
    UnknownEnvironment,
)
from envalign.envs.info import step_info, validate_info
from envalign.envs.registry import EnvCard, list_envs, make, make_raw, register, spec
from envalign.envs.spaces import (
    UnicodeText,
    multi_agent_observation,
    multi_agent_observation_space,
    observation_text,
    text_space,
)

register_builtins()


def check(env_id: str, **kwargs: object) -> None:
    """Run Gymnasium's or PettingZoo's checkers plus envalign's own on a registered environment.

    Raises:
        ConformanceError: Naming the first convention the environment breaks.
    """
    from envalign.envs.checker import check_env

    check_env(env_id, **kwargs)


__all__ = [
    "SINGLE_AGENT",
    "ActContext",
    "ConfigError",
    "ConformanceError",
    "DependencyNotInstalled",
    "EnvCard",
    "EnvalignError",
    "InvalidInfo",
    "RegistrationError",
    "SandboxError",
    "SandboxUnavailable",
    "TextEnv",
    "TextParallelEnv",
    "UnicodeText",
    "UnknownEnvironment",
    "check",
    "list_envs",
    "make",
    "make_raw",
    "multi_agent_observation",
    "multi_agent_observation_space",
    "observation_text",
    "read_action",
    "register",
    "spec",
    "step_info",
    "text_space",
    "validate_info",
]
