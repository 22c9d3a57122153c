"""GRPO: group-relative advantages, token weights and the clipped loss."""

from __future__ import annotations

import pytest

from envalign.training.algorithms.batch import collate, token_logprobs
from envalign.training.algorithms.grpo import (
    clipped_loss,
    group_advantages,
    token_weights,
    varying_groups,
)

torch = pytest.importorskip("torch")


def test_group_advantages_are_standardised_within_each_group() -> None:
    credits = [1.0, 0.0, 1.0, 0.0, 5.0, 5.0]
    groups = [0, 0, 0, 0, 1, 1]
    advantages = group_advantages(credits, groups, scale="group", eps=0.0)
    std = torch.tensor([1.0, 0.0, 1.0, 0.0]).std().item()
    assert advantages[:4] == pytest.approx([0.5 / std, -0.5 / std, 0.5 / std, -0.5 / std])
    assert advantages[4:] == [0.0, 0.0]


def test_scale_none_and_batch() -> None:
    credits, groups = [2.0, 0.0, 10.0, 10.0], [0, 0, 1, 1]
    assert group_advantages(credits, groups, scale="none") == [1.0, -1.0, 0.0, 0.0]
    batch_std = torch.tensor(credits).std().item()
    assert group_advantages(credits, groups, scale="batch", eps=0.0) == pytest.approx(
        [1 / batch_std, -1 / batch_std, 0, 0]
    )


def test_varying_groups_drops_groups_with_equal_rewards() -> None:
    assert varying_groups([1.0, 1.0, 0.0, 1.0, 0.0, 0.0], [0, 0, 1, 1, 2, 2]) == {1}


@pytest.mark.parametrize("normalization", ["token", "sequence"])
def test_token_weights_sum_to_one(normalization: str) -> None:
    mask = torch.tensor([[0, 1, 1, 1], [0, 0, 1, 0]], dtype=torch.float32)
    weights = token_weights(mask, normalization)
    assert weights.sum().item() == pytest.approx(1.0)
    assert (weights[mask == 0] == 0).all()
    if normalization == "sequence":
        assert weights[1, 2].item() == pytest.approx(0.5)
    else:
        assert weights[1, 2].item() == pytest.approx(0.25)


def test_constant_normalisation_divides_by_the_budget() -> None:
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]], dtype=torch.float32)
    assert token_weights(mask, "constant", max_new_tokens=4)[0, 0].item() == pytest.approx(1 / 8)
    with pytest.raises(ValueError, match="normalization"):
        token_weights(mask, "mean")


def test_positive_advantage_raises_the_sampled_tokens_probability(tiny_llama) -> None:
    batch = collate([([1, 2], [3, 4])], [1.0], pad_id=0)
    optimizer = torch.optim.SGD(tiny_llama.parameters(), lr=0.5)
    before = token_logprobs(tiny_llama, batch.input_ids, batch.attention_mask)
    weights = token_weights(batch.loss_mask)
    loss, _ = clipped_loss(before, before.detach(), batch.values, weights)
    loss.backward()
    optimizer.step()
    after = token_logprobs(tiny_llama, batch.input_ids, batch.attention_mask)
    assert ((after - before) * batch.loss_mask).sum().item() > 0


def test_clipping_stops_the_gradient_past_the_bound() -> None:
    logprobs = torch.tensor([[0.0, 0.5, -0.5]], requires_grad=True)
    old = torch.zeros(1, 3)
    weights = torch.tensor([[0.0, 0.5, 0.5]])
    loss, stats = clipped_loss(
        logprobs, old, torch.tensor([1.0]), weights, clip_low=0.2, clip_high=0.2
    )
    loss.backward()
    # Token 1 (ratio e^0.5 > 1.2, positive advantage) is clipped; token 2 (ratio < 0.8) is not.
    assert logprobs.grad[0, 1].item() == 0.0
    assert logprobs.grad[0, 2].item() < 0.0
    assert stats["clip_fraction"].item() == pytest.approx(1.0)


def test_asymmetric_clip_high_lets_the_ratio_rise_further() -> None:
    logprobs = torch.tensor([[0.0, 0.25]], requires_grad=True)  # ratio 1.28
    weights = torch.tensor([[0.0, 1.0]])
    clipped_loss(logprobs, torch.zeros(1, 2), torch.tensor([1.0]), weights, clip_high=0.2)[
        0
    ].backward()
    assert logprobs.grad[0, 1].item() == 0.0
    logprobs.grad = None
    clipped_loss(logprobs, torch.zeros(1, 2), torch.tensor([1.0]), weights, clip_high=0.3)[
        0
    ].backward()
    assert logprobs.grad[0, 1].item() < 0.0


def test_kl_penalty_is_zero_at_the_reference_and_positive_away_from_it() -> None:
    logprobs = torch.tensor([[0.0, -1.0]])
    weights = torch.tensor([[0.0, 1.0]])
    advantages = torch.tensor([0.0])
    same, stats = clipped_loss(
        logprobs, logprobs, advantages, weights, ref_logprobs=logprobs, kl_coef=1.0
    )
    assert same.item() == pytest.approx(0.0) and stats["kl_ref"].item() == pytest.approx(0.0)
    away, stats = clipped_loss(
        logprobs, logprobs, advantages, weights, ref_logprobs=logprobs - 1, kl_coef=1.0
    )
    assert away.item() > 0 and stats["kl_ref"].item() > 0


def test_micro_batch_accumulation_equals_the_full_batch_gradient(tiny_llama) -> None:
    batch = collate(
        [([1, 2], [3, 4, 5]), ([6], [7]), ([8, 9, 10], [11, 12])], [1.0, -0.5, 0.25], pad_id=0
    )
    weights = token_weights(batch.loss_mask, "token")

    def gradient(parts: list[slice]) -> torch.Tensor:
        tiny_llama.zero_grad()
        for part in parts:
            lp = token_logprobs(tiny_llama, batch.input_ids[part], batch.attention_mask[part])
            loss, _ = clipped_loss(lp, lp.detach(), batch.values[part], weights[part])
            loss.backward()
        return torch.cat([p.grad.flatten() for p in tiny_llama.parameters() if p.grad is not None])

    full = gradient([slice(0, 3)])
    split = gradient([slice(0, 1), slice(1, 3)])
    assert torch.allclose(full, split, atol=1e-6)


def test_kl_to_the_sampling_policy_is_zero_before_the_policy_moves_and_k3_after() -> None:
    logprobs = torch.tensor([[0.0, -1.0, -2.0]])
    weights = torch.tensor([[0.0, 0.5, 0.5]])
    advantages = torch.tensor([1.0])
    _, same = clipped_loss(logprobs, logprobs.clone(), advantages, weights)
    assert same["kl"].item() == 0.0 and "kl_ref" not in same
    moved = logprobs + torch.tensor([[5.0, 0.1, -0.2]])  # position 0 is outside the loss
    _, stats = clipped_loss(moved, logprobs, advantages, weights)
    log_ratio = torch.tensor([0.1, -0.2])
    expected = ((log_ratio.exp() - 1) - log_ratio).mean()
    assert stats["kl"].item() == pytest.approx(expected.item(), rel=1e-5)
    assert stats["kl"].item() > 0


def test_token_weights_use_the_whole_batch_counts_when_given() -> None:
    mask = torch.tensor([[0.0, 1.0, 1.0], [0.0, 1.0, 0.0]])  # 3 of 12 tokens held here
    assert token_weights(mask, "token", total_tokens=12.0).sum().item() == pytest.approx(0.25)
    per_sequence = token_weights(mask, "sequence", total_sequences=4.0)
    assert per_sequence.sum().item() == pytest.approx(0.5)
    constant = token_weights(mask, "constant", max_new_tokens=2, total_sequences=4.0)
    assert constant.sum().item() == pytest.approx(3 / 8)
    assert torch.equal(token_weights(mask, "token"), mask / 3)
