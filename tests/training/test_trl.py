"""TRL interop: envalign rewards drive TRL's GRPOTrainer."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envalign.envs.errors import ConfigError
from envalign.training.trl import completion_text, dataset, prompts, reward_function


def test_prompts_replay_environment_resets_with_their_seeds() -> None:
    rows = prompts("envalign/Arithmetic-v0", 3, seed=10)
    assert [r["seed"] for r in rows] == [10, 11, 12]
    assert rows[0]["prompt"][0]["role"] == "system"
    assert rows[0]["prompt"][1]["content"].startswith("What is")
    plain = prompts("envalign/Arithmetic-v0", 1, seed=10, conversational=False)
    assert plain[0]["prompt"] == rows[0]["prompt"][1]["content"]


def test_rewards_grade_string_and_conversational_completions() -> None:
    reward = reward_function("envalign/Arithmetic-v0", low=2, high=2)
    completions = ["4", [{"role": "assistant", "content": "The answer is 4."}], "5", ""]
    assert reward([""] * 4, completions, seed=[0, 1, 2, 3]) == [1.0, 1.0, 0.0, 0.0]
    assert reward.__name__ == "arithmetic_v0"


def test_rewards_without_seeds_and_multi_agent_environments_are_explained() -> None:
    with pytest.raises(ConfigError, match="seed"):
        reward_function("envalign/Arithmetic-v0")(["q"], ["1"])
    with pytest.raises(ConfigError, match="multi-agent"):
        reward_function("envalign/Ultimatum-v0")


@given(st.text(max_size=200))
def test_any_completion_text_gets_a_finite_reward(text: str) -> None:
    reward = _ARITHMETIC([text], [text], seed=[0])
    assert reward[0] in (0.0, 1.0)
    assert completion_text([{"role": "assistant", "content": text}]) == text


_ARITHMETIC = reward_function("envalign/Arithmetic-v0")


@pytest.mark.slow
def test_trl_grpo_trainer_runs_two_steps_with_an_envalign_reward(tmp_path: Path) -> None:
    pytest.importorskip("trl")
    from trl import GRPOConfig, GRPOTrainer

    from envalign.agents.models import tiny_random_model

    model, tokenizer = tiny_random_model(0)
    calls: list[int] = []
    reward = reward_function("envalign/Arithmetic-v0", low=1, high=1)

    def counted(prompts, completions, **kwargs):  # noqa: ANN001, ANN003, ANN202 - TRL's signature
        calls.append(len(completions))
        return reward(prompts, completions, **kwargs)

    counted.__name__ = reward.__name__
    args = GRPOConfig(
        output_dir=str(tmp_path),
        max_steps=2,
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=4,
        learning_rate=1e-3,
        logging_steps=1,
        report_to="none",
        use_cpu=True,
        bf16=False,
        save_strategy="no",
        seed=0,
    )
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=counted,
        args=args,
        train_dataset=dataset("envalign/Arithmetic-v0", 16, low=1, high=1),
        processing_class=tokenizer,
    )
    trainer.train()
    assert trainer.state.global_step == 2
    assert sum(calls) == 8  # two steps x 4 completions graded by the environment
    assert any(f"rewards/{reward.__name__}/mean" in row for row in trainer.state.log_history)
