import gymnasium
import pettingzoo
import pytest
from pettingzoo.utils import AECEnv, ParallelEnv

import envalign
from envalign.envs import RegistrationError, UnknownEnvironment, list_envs, make, register, spec
from envalign.envs.reasoning.arithmetic import ArithmeticEnv
from envalign.envs.social.ultimatum import UltimatumEnv


def test_builtins_are_in_the_catalog_with_metadata():
    card = spec("envalign/Ultimatum-v0")
    assert card.family == "social" and card.num_agents == 2 and card.multi_agent
    assert set(card.signals) <= {"scalar", "binary", "text"}
    assert not card.needs_docker
    assert card.description
    assert {"envalign/Arithmetic-v0", "envalign/Ultimatum-v0"} <= {c.id for c in list_envs()}
    assert all(c.family == "social" for c in list_envs("social"))


def test_make_dispatches_to_gymnasium_or_pettingzoo():
    single = make("envalign/Arithmetic-v0")
    assert isinstance(single, gymnasium.Env) and isinstance(single.unwrapped, ArithmeticEnv)
    multi = make("envalign/Ultimatum-v0")
    assert isinstance(multi, ParallelEnv) and isinstance(multi, UltimatumEnv)
    assert isinstance(make("envalign/Ultimatum-v0", form="aec"), AECEnv)


def test_upstream_make_works_after_import():
    env = gymnasium.make("envalign/Arithmetic-v0", low=5, high=5)
    observation, _ = env.reset(seed=0)
    assert observation == "What is 5 + 5?"
    game = pettingzoo.make("parallel", "envalign/Ultimatum-v0", pot=10)
    assert game.pot == 10


def test_kwargs_reach_the_environment():
    env = envalign.make("envalign/Arithmetic-v0", low=7, high=7, operations="*")
    observation, _ = env.reset(seed=1)
    assert observation == "What is 7 * 7?"


def test_unknown_id_suggests_the_closest():
    with pytest.raises(UnknownEnvironment, match="Did you mean 'envalign/Ultimatum-v0'"):
        make("envalign/Ultimatm-v0")


@pytest.mark.parametrize(
    "env_id, fields, message",
    [
        ("no-namespace-v0", {}, "namespace/Name-vN"),
        ("test/NoVersion", {}, "namespace/Name-vN"),
        ("test/BadFamily-v0", {"family": "cooking"}, "Unknown family"),
        ("test/BadSignal-v0", {"signals": ("smell",)}, "Signals"),
        ("test/NoDescription-v0", {"description": ""}, "one-line description"),
        ("test/BadEntry-v0", {"entry_point": "no_colon"}, "entry_point"),
    ],
)
def test_invalid_registrations_are_refused(env_id, fields, message):
    arguments = {
        "entry_point": "envalign.envs.reasoning.arithmetic:ArithmeticEnv",
        "family": "reasoning",
        "description": "d",
        **fields,
    }
    with pytest.raises(RegistrationError, match=message):
        register(env_id, **arguments)


def test_same_id_with_another_entry_point_is_refused_but_reregistering_is_idempotent():
    first = register(
        "test/Twice-v0",
        "envalign.envs.reasoning.arithmetic:ArithmeticEnv",
        family="reasoning",
        description="d",
    )
    again = register(
        "test/Twice-v0",
        "envalign.envs.reasoning.arithmetic:ArithmeticEnv",
        family="reasoning",
        description="d",
    )
    assert again is first
    with pytest.raises(RegistrationError, match="already registered"):
        register(
            "test/Twice-v0",
            "envalign.envs.social.ultimatum:UltimatumEnv",
            family="social",
            num_agents=2,
            description="d",
        )


def test_callable_entry_points_register_a_multi_agent_game_in_both_forms():
    register(
        "test/CallableUltimatum-v0",
        lambda **kw: UltimatumEnv(**kw),
        family="social",
        num_agents=2,
        description="d",
        kwargs={"pot": 7},
    )
    assert pettingzoo.make("parallel", "test/CallableUltimatum-v0").pot == 7
    aec = pettingzoo.make("aec", "test/CallableUltimatum-v0")
    aec.reset(seed=0)
    assert aec.agent_selection == "proposer"


def test_card_serialises_for_the_cli():
    data = spec("envalign/Arithmetic-v0").as_dict()
    assert data["entry_point"] == "envalign.envs.reasoning.arithmetic:ArithmeticEnv"
    assert "scripted" in data["policies"]


def test_gymnasium_module_syntax_needs_no_import_by_the_user():
    import subprocess
    import sys

    script = (
        "import gymnasium\n"
        "env = gymnasium.make('envalign:envalign/Arithmetic-v0', low=2, high=2)\n"
        "print(env.reset(seed=0)[0])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    )
    assert result.stdout.strip() == "What is 2 + 2?"
