"""TRL's environment_factory: envalign episodes driven through the ``act`` tool."""

from __future__ import annotations

import importlib.resources
import inspect
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envalign.envs.errors import ConfigError
from envalign.training.trl_environment import (
    EPISODE_OVER,
    environment_factory,
    tool_prompts,
)


def test_single_agent_episode_is_played_through_the_act_tool() -> None:
    arithmetic = environment_factory("envalign/Arithmetic-v0", low=2, high=2)
    env = arithmetic()
    assert env.reset(seed=0) == "What is 2 + 2?"
    assert not env.done and env.get_reward() == 0.0
    reply = env.act("4")
    assert env.done and env.get_reward() == 1.0 and reply.endswith(EPISODE_OVER)
    assert env.act("5") == EPISODE_OVER and env.get_reward() == 1.0  # nothing after the end
    env.reset(seed=1)
    env.act("5")
    assert env.get_reward() == 0.0  # a new episode starts from zero


def test_opponents_move_between_the_trained_agents_turns() -> None:
    responder = environment_factory("envalign/Ultimatum-v0", agent="responder")()
    prompt = responder.reset(seed=1)
    assert "offers you" in prompt  # the scripted proposer has already moved
    reply = responder.act("ACCEPT")
    assert responder.done and "Deal" in reply
    assert responder.get_reward() == pytest.approx(0.5)
    rejecting = environment_factory("envalign/Ultimatum-v0", agent="responder")()
    rejecting.reset(seed=1)
    rejecting.act("REJECT")
    assert rejecting.get_reward() == 0.0


def test_simultaneous_games_get_the_opponents_move_in_the_same_step() -> None:
    def play(move: str) -> tuple[float, str]:
        game = environment_factory("envalign/PrisonersDilemma-v0", opponents="scripted")()
        game.reset(seed=0)
        reply = ""
        while not game.done:
            reply = game.act(move)
        return game.get_reward(), reply

    cooperating, cooperative_reply = play("COOPERATE")
    defecting, defecting_reply = play("DEFECT")
    # The scripted opponent reciprocates: cooperation pays more than defection over the match.
    assert cooperating > defecting > 0
    assert "they COOPERATE" in cooperative_reply and "they DEFECT" in defecting_reply


def test_same_seed_same_episode() -> None:
    factory = environment_factory("envalign/Negotiation-v0", opponents="scripted")
    first, second = factory(), factory()
    assert first.reset(seed=7) == second.reset(seed=7)
    for action in ["SAY hello", "PROPOSE 5", "ACCEPT"]:
        assert first.act(action) == second.act(action)
    assert first.get_reward() == second.get_reward()


def test_tools_are_what_trl_exposes() -> None:
    factory = environment_factory("envalign/Negotiation-v0")
    public = [
        name
        for name, _ in inspect.getmembers(factory, predicate=inspect.isfunction)
        if name not in ("reset", "get_reward") and not name.startswith("_")
    ]
    assert public == ["act"]
    from transformers.utils import get_json_schema

    schema = get_json_schema(factory.act)
    assert schema["function"]["parameters"]["required"] == ["action"]
    assert factory.__name__ == "Negotiation_v0"


def test_bad_agents_and_missing_opponents_are_explained() -> None:
    with pytest.raises(ConfigError, match="proposer"):
        environment_factory("envalign/Ultimatum-v0", agent="nobody")
    with pytest.raises(ConfigError, match="no opponent policy"):
        environment_factory("envalign/Ultimatum-v0", agent="proposer", opponents={})


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(max_size=300), min_size=1, max_size=6))
def test_any_tool_argument_gets_an_answer_and_a_finite_reward(actions: list[str]) -> None:
    env = _NEGOTIATION()
    env.reset(seed=3)
    for action in actions:
        assert isinstance(env.act(action), str)
    assert abs(env.get_reward()) < 1e6


_NEGOTIATION = environment_factory("envalign/Negotiation-v0")


def test_tool_prompts_carry_seeds_and_the_tool_instruction() -> None:
    rows = tool_prompts("envalign/Ultimatum-v0", 3, seed=5)
    assert [row["seed"] for row in rows] == [5, 6, 7]
    assert "`act` tool" in rows[0]["prompt"][0]["content"]


@pytest.mark.slow
def test_trl_grpo_trainer_resets_and_scores_envalign_episodes(tmp_path: Path) -> None:
    pytest.importorskip("trl")
    from trl import GRPOConfig, GRPOTrainer

    from envalign.agents.models import tiny_random_model
    from envalign.training.trl_environment import tool_dataset

    model, tokenizer = tiny_random_model(0)
    template = importlib.resources.files("trl") / "chat_templates" / "qwen2_5.jinja"
    tokenizer.chat_template = template.read_text()  # a template that renders tool calls
    factory = environment_factory("envalign/Ultimatum-v0", agent="responder")
    seeds: list[int | None] = []
    reset = factory.reset

    def counted_reset(self, seed=None, **row):  # noqa: ANN001, ANN003, ANN202 - TRL's call
        seeds.append(seed)
        return reset(self, seed=seed, **row)

    factory.reset = counted_reset  # type: ignore[method-assign]
    args = GRPOConfig(
        output_dir=str(tmp_path),
        max_steps=2,
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=8,
        max_tool_calling_iterations=2,
        logging_steps=1,
        report_to="none",
        use_cpu=True,
        bf16=False,
        save_strategy="no",
        seed=0,
    )
    trainer = GRPOTrainer(
        model=model,
        environment_factory=factory,
        args=args,
        train_dataset=tool_dataset("envalign/Ultimatum-v0", 8),
        processing_class=tokenizer,
    )
    trainer.train()
    assert trainer.state.global_step == 2
    assert len(seeds) == 8 and all(isinstance(s, int) for s in seeds)  # one reset per rollout
    logged = [row for row in trainer.state.log_history if "rewards/Ultimatum_v0/mean" in row]
    assert len(logged) == 2  # the environment's get_reward is a reward source
