"""fp32 master weights keep small updates that bf16 weights would round away."""

from __future__ import annotations

import pytest

from envalign.training.precision import MasterWeights, needs_master_weights

torch = pytest.importorskip("torch")


def test_small_updates_accumulate_in_the_master_copy() -> None:
    weight = torch.nn.Parameter(torch.full((4,), 1.0, dtype=torch.bfloat16))
    master = MasterWeights([weight])
    optimizer = torch.optim.SGD(master.parameters(), lr=1e-4)
    plain = torch.nn.Parameter(torch.full((4,), 1.0, dtype=torch.bfloat16))
    plain_optimizer = torch.optim.SGD([plain], lr=1e-4)
    for _ in range(100):
        weight.sum().backward()
        master.copy_grads()
        optimizer.step()
        master.copy_weights()
        plain.sum().backward()
        plain_optimizer.step()
        plain_optimizer.zero_grad()
    assert plain.tolist() == [1.0] * 4  # 1 - 1e-4 rounds back to 1 in bf16, every time
    assert master.master[0].tolist() == pytest.approx([0.99] * 4, abs=1e-5)
    assert weight.tolist() == pytest.approx([0.99] * 4, abs=4e-3)
    assert weight.grad is None


def test_state_round_trip_writes_the_model() -> None:
    weight = torch.nn.Parameter(torch.zeros(2, dtype=torch.bfloat16))
    master = MasterWeights([weight])
    master.load_state_dict({"master": [torch.tensor([0.5, -0.25])]})
    assert weight.tolist() == [0.5, -0.25]
    assert master.state_dict()["master"][0].dtype == torch.float32


def test_only_low_precision_parameters_need_a_master_copy() -> None:
    assert needs_master_weights([torch.zeros(1, dtype=torch.bfloat16)])
    assert not needs_master_weights([torch.zeros(1)])
