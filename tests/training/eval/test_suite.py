"""Suites as pinned data: the shipped core-v1, validation, hashes, and seeds no trainer can draw."""

from __future__ import annotations

import random

import pytest
import yaml

from envalign.agents.baselines import baseline_policy
from envalign.envs.errors import ConfigError
from envalign.envs.registry import FAMILIES, spec
from envalign.training.config import TrainConfig
from envalign.training.eval.suite import SUITE_SEEDS, available_suites, load_suite

CORE = load_suite("core-v1")


def test_core_v1_covers_every_family_with_at_least_twelve_entries():
    assert "core-v1" in available_suites()
    assert len(CORE.entries) >= 12
    families = {entry.card.family for entry in CORE.entries}
    assert families == set(FAMILIES)
    assert CORE.tiers["quick"] < CORE.tiers["full"]


@pytest.mark.parametrize("entry", CORE.entries, ids=lambda entry: entry.id)
def test_every_entry_names_real_environments_seats_and_partners(entry):
    card = spec(entry.env)
    for partners in entry.panel.values():
        assert entry.seat not in partners
        for name in partners.values():
            assert baseline_policy(entry.env, name).name == name
    if card.multi_agent:
        assert entry.partners, "a multi-agent entry needs fixed partners"
    assert len(entry.test_seeds) >= CORE.tiers["full"]
    assert not set(entry.test_seeds) & set(entry.dev_seeds)
    assert all(seed in SUITE_SEEDS for seed in entry.test_seeds + entry.dev_seeds)


def test_trainers_draw_task_and_held_out_seeds_below_the_suite_range():
    config = TrainConfig()
    run = config.run
    assert run.eval_seed_offset + run.eval_episodes <= SUITE_SEEDS.start
    for step in range(50):  # the trainer's own formula for task seeds
        draw = random.Random(f"{run.seed}:tasks:{step}")
        seeds = [draw.randrange(run.eval_seed_offset) for _ in range(64)]
        assert all(seed not in SUITE_SEEDS for seed in seeds)


def test_a_training_config_that_would_reach_suite_seeds_is_refused():
    config = TrainConfig()
    config.run.eval_seed_offset = SUITE_SEEDS.start - 2
    config.run.eval_episodes = 8
    with pytest.raises(ConfigError, match="run.eval_seed_offset"):
        config.validate()


def test_fingerprint_is_stable_and_changes_with_what_defines_the_entry():
    entry = CORE.entry("dilemma-panel")
    acting = CORE.acting_for(entry)
    first = entry.fingerprint("quick", CORE.tiers, acting)
    assert first == entry.fingerprint("quick", CORE.tiers, acting)
    assert first != entry.fingerprint("full", CORE.tiers, acting)
    changed = [
        entry.model_copy(update={"kwargs": {"rounds": 6}}),
        entry.model_copy(update={"seat": "agent_1"}),
        entry.model_copy(update={"partners": {"random": {"agent_1": "random"}}}),
        entry.model_copy(update={"test_seeds": list(reversed(entry.test_seeds))}),
    ]
    for other in changed:
        assert other.fingerprint("quick", CORE.tiers, acting) != first
    greedy = acting.model_copy(update={"max_new_tokens": 8})
    assert entry.fingerprint("quick", CORE.tiers, greedy) != first


def _write(tmp_path, data):
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _minimal(**entry):
    base = {"id": "a", "env": "envalign/Arithmetic-v0", "test_seeds": [SUITE_SEEDS.start]}
    return {"name": "t", "version": 1, "tiers": {"quick": 1, "full": 1}, "entries": [base | entry]}


def test_a_suite_file_with_training_range_seeds_is_refused_naming_the_field(tmp_path):
    path = _write(tmp_path, _minimal(test_seeds=[3, 4]))
    with pytest.raises(ConfigError, match=r"entries\.0\.test_seeds.*reserved"):
        load_suite(path)


def test_overlapping_test_and_dev_seeds_and_unknown_keys_are_refused(tmp_path):
    seed = SUITE_SEEDS.start
    with pytest.raises(ConfigError, match="overlap"):
        load_suite(_write(tmp_path, _minimal(dev_seeds=[seed])))
    with pytest.raises(ConfigError, match="seets: Extra inputs are not permitted"):
        load_suite(_write(tmp_path, _minimal(seets=[1])))


def test_unknown_suites_and_entries_get_one_line_errors():
    with pytest.raises(ConfigError, match="Shipped suites: core-v1"):
        load_suite("core-v9")
    with pytest.raises(ConfigError, match="Did you mean 'arithmetic'"):
        CORE.entry("arithmetc")
