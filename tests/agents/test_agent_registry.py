"""Resolving policies by name: baselines, model presets, hf: folders."""

from __future__ import annotations

import pytest

from envalign.agents.baselines import BaselinePolicy
from envalign.agents.registry import NAMED_LOADERS, PREFIX_LOADERS, resolve_policy
from envalign.envs.errors import ConfigError

ULTIMATUM = "envalign/Ultimatum-v0"


def test_baselines_resolve_and_unknown_names_list_what_exists():
    assert isinstance(resolve_policy("scripted", ULTIMATUM), BaselinePolicy)
    with pytest.raises(ConfigError, match="random"):
        resolve_policy("smollm3", ULTIMATUM)


def test_model_loaders_are_registered():
    assert "hf" in PREFIX_LOADERS
    assert {"smollm2-135m-instruct", "tiny-random"} <= set(NAMED_LOADERS)
    with pytest.raises(ConfigError, match="hf:./my-model"):
        resolve_policy("hf:", ULTIMATUM)


def test_tiny_random_and_hf_folder_resolve_to_transformers_policies(tmp_path):
    pytest.importorskip("torch")
    from envalign.agents.models import tiny_random_model
    from envalign.agents.transformers_policy import TransformersPolicy

    tiny = resolve_policy("tiny-random", ULTIMATUM)
    assert isinstance(tiny, TransformersPolicy) and tiny.name == "tiny-random"
    model, tokenizer = tiny_random_model()
    model.save_pretrained(tmp_path / "m")
    tokenizer.save_pretrained(tmp_path / "m")
    loaded = resolve_policy(f"hf:{tmp_path / 'm'}", ULTIMATUM)
    assert isinstance(loaded, TransformersPolicy)
    assert loaded.name == f"hf:{tmp_path / 'm'}"
