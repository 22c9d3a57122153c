"""Episodes to tensors: exact ids, loss only on generated tokens, credit per episode or turn."""

from __future__ import annotations

import pytest

from envalign.envs.errors import ConfigError
from envalign.training.algorithms.batch import (
    collate,
    masked_mean,
    samples_batch,
    token_logprobs,
    turn_samples,
)
from envalign.training.episodes import Episode, TurnRecord

torch = pytest.importorskip("torch")


def turn(agent: str, step: int, prompt: list[int], ids: list[int], reward: float) -> TurnRecord:
    return TurnRecord(
        agent=agent,
        step=step,
        observation="obs",
        action="act",
        reward=reward,
        reward_components={"r": reward},
        feedback="",
        token_ids=ids,
        logprobs=[-0.5] * len(ids),
        prompt_token_ids=prompt,
    )


def episode(turns: list[TurnRecord], agents: list[str], group: int = 0) -> Episode:
    returns = {a: sum(t.reward for t in turns if t.agent == a) for a in agents}
    return Episode(
        env_id="x",
        seed=0,
        task_id="t",
        agents=agents,
        policies=dict.fromkeys(agents, "p"),
        system_prompts={},
        turns=turns,
        returns=returns,
        success=dict.fromkeys(agents),
        steps=len(turns),
        terminated=True,
        group=group,
    )


def test_multi_turn_episode_gives_one_sample_per_turn_with_its_exact_ids() -> None:
    # The second prompt contains the first turn plus environment text (ids 90, 91).
    turns = [turn("a", 0, [1, 2], [3, 4], 0.0), turn("a", 1, [1, 2, 3, 4, 90, 91], [5], 1.0)]
    samples = turn_samples([episode(turns, ["a"], group=3)])
    assert [(s.prompt_ids, s.completion_ids) for s in samples] == [
        ([1, 2], [3, 4]),
        ([1, 2, 3, 4, 90, 91], [5]),
    ]
    assert [s.credit for s in samples] == [1.0, 1.0]
    assert {s.group for s in samples} == {3}


def test_turn_credit_is_the_discounted_reward_to_go() -> None:
    turns = [turn("a", i, [1], [2], r) for i, r in enumerate([1.0, 0.0, 2.0])]
    samples = turn_samples([episode(turns, ["a"])], credit="turn", gamma=0.5)
    assert [s.credit for s in samples] == [1.0 + 0.25 * 2.0, 0.5 * 2.0, 2.0]


def test_only_trained_agents_and_generated_turns_are_kept() -> None:
    turns = [turn("a", 0, [1], [2], 1.0), turn("b", 0, [1], [3], 0.0), turn("b", 1, [1], [], 0.0)]
    ep = episode(turns, ["a", "b"])
    assert [s.agent for s in turn_samples([ep], agents=["b"])] == ["b"]
    assert [s.agent for s in turn_samples([ep])] == ["a", "b"]


def test_unknown_credit_and_missing_prompt_ids_are_explained() -> None:
    with pytest.raises(ConfigError, match="credit"):
        turn_samples([], credit="step")
    broken = turn("a", 0, [1], [2], 1.0)
    broken.prompt_token_ids = None
    with pytest.raises(ValueError, match="prompt_token_ids"):
        turn_samples([episode([broken], ["a"])])


def test_collate_masks_only_the_completion_and_aligns_old_logprobs() -> None:
    batch = collate(
        [([1, 2, 3], [4, 5]), ([6], [7])],
        [1.0, -1.0],
        pad_id=0,
        old_logprobs=[[-1.0, -2.0], [-3.0]],
    )
    assert batch.input_ids.tolist() == [[1, 2, 3, 4, 5], [6, 7, 0, 0, 0]]
    assert batch.attention_mask.tolist() == [[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]]
    assert batch.loss_mask.tolist() == [[0, 0, 0, 1, 1], [0, 1, 0, 0, 0]]
    assert batch.old_logprobs.tolist() == [[0, 0, 0, -1, -2], [0, -3, 0, 0, 0]]
    assert batch.values.tolist() == [1.0, -1.0]


def test_collate_rejects_logprobs_of_the_wrong_length() -> None:
    with pytest.raises(ValueError, match="logprobs"):
        collate([([1], [2, 3])], [0.0], pad_id=0, old_logprobs=[[-1.0]])


def test_samples_without_logprobs_give_no_old_logprobs() -> None:
    sample = turn_samples([episode([turn("a", 0, [1], [2], 1.0)], ["a"])])[0]
    sample.old_logprobs = None
    assert samples_batch([sample], [0.0], pad_id=0).old_logprobs is None


def test_token_logprobs_equal_a_direct_computation(tiny_llama) -> None:
    ids = torch.tensor([[1, 5, 7, 9], [2, 3, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])
    got = token_logprobs(tiny_llama, ids, mask)
    logits = tiny_llama(input_ids=ids[:1, :3]).logits.log_softmax(-1)
    expected = [logits[0, t, ids[0, t + 1]].item() for t in range(3)]
    assert got.shape == (2, 4)
    assert got[0, 0].item() == 0.0
    assert got[0, 1:].tolist() == pytest.approx(expected, abs=1e-5)


def test_right_padding_does_not_change_the_real_tokens_logprobs(tiny_llama) -> None:
    alone = token_logprobs(tiny_llama, torch.tensor([[2, 3, 4]]), torch.tensor([[1, 1, 1]]))
    padded = token_logprobs(
        tiny_llama, torch.tensor([[2, 3, 4, 0, 0]]), torch.tensor([[1, 1, 1, 0, 0]])
    )
    assert padded[0, :3].tolist() == pytest.approx(alone[0].tolist(), abs=1e-5)


def test_temperature_divides_the_logits(tiny_llama) -> None:
    ids, mask = torch.tensor([[1, 2, 3]]), torch.ones(1, 3, dtype=torch.long)
    logits = tiny_llama(input_ids=ids).logits[0, 0] / 2.0
    got = token_logprobs(tiny_llama, ids, mask, temperature=2.0)
    assert got[0, 1].item() == pytest.approx(logits.log_softmax(-1)[2].item(), abs=1e-5)


def test_masked_mean_ignores_masked_entries_and_empty_masks() -> None:
    values = torch.tensor([[1.0, 100.0], [3.0, 5.0]])
    mask = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    assert masked_mean(values, mask).item() == 1.0
    assert masked_mean(values, mask, dim=-1).tolist() == [1.0, 0.0]


class _FixedLogits:
    """A stand-in model whose next-token logits are given."""

    def __init__(self, logits: torch.Tensor) -> None:
        self.logits = logits

    def __call__(self, **_: object) -> object:
        from types import SimpleNamespace

        return SimpleNamespace(logits=self.logits)


def test_entropy_of_known_distributions_comes_from_the_same_logits() -> None:
    import math

    # Position 0 predicts from a uniform distribution over 8 tokens, position 1 from a certain one.
    logits = torch.zeros(1, 3, 8)
    logits[0, 1] = torch.tensor([50.0, 0, 0, 0, 0, 0, 0, 0])
    ids, mask = torch.tensor([[1, 2, 0]]), torch.ones(1, 3, dtype=torch.long)
    logprobs, entropy = token_logprobs(_FixedLogits(logits), ids, mask, return_entropy=True)
    assert entropy.shape == logprobs.shape == (1, 3)
    assert entropy[0, 0].item() == 0.0  # position 0 is never predicted
    assert entropy[0, 1].item() == pytest.approx(math.log(8), abs=1e-6)
    assert entropy[0, 2].item() == pytest.approx(0.0, abs=1e-6)
    assert logprobs[0, 1].item() == pytest.approx(-math.log(8), abs=1e-6)
    # Tempered as sampling was: a two-way split at temperature 2 is still uniform.
    two = torch.tensor([[[0.0, 0.0], [0.0, 0.0]]])
    _, tempered = token_logprobs(
        _FixedLogits(two),
        torch.tensor([[0, 1]]),
        torch.ones(1, 2),
        temperature=2.0,
        return_entropy=True,
    )
    assert tempered[0, 1].item() == pytest.approx(math.log(2), abs=1e-6)


def test_entropy_matches_softmax_on_a_real_model(tiny_llama) -> None:
    ids = torch.tensor([[1, 5, 7, 9]])
    mask = torch.ones_like(ids)
    logprobs, hidden, entropy = token_logprobs(
        tiny_llama, ids, mask, return_hidden=True, return_entropy=True
    )
    probs = torch.softmax(tiny_llama(input_ids=ids).logits[:, :-1].float(), -1)
    expected = -(probs * probs.log()).sum(-1)
    assert torch.allclose(entropy[:, 1:], expected, atol=1e-5)
    assert hidden.shape[:2] == ids.shape and not entropy.requires_grad
    assert torch.allclose(logprobs, token_logprobs(tiny_llama, ids, mask))
