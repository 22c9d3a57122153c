"""The trained policy: the configured model, optionally with LoRA adapters, as a TransformersPolicy."""

from __future__ import annotations

from typing import Any

from envalign.envs.errors import ConfigError
from envalign.training.config import TrainConfig


def build_policy(config: TrainConfig, device: str | None = None) -> Any:
    """Load the model named in ``config.model`` and wrap it in a trainable TransformersPolicy.

    Args:
        config: The run's configuration.
        device: Overrides ``model.device`` (a data-parallel rank's ``cuda:LOCAL_RANK``).
    """
    from envalign.agents.base import SamplingParams
    from envalign.agents.transformers_policy import (
        TransformersPolicy,
        resolve_device,
        resolve_dtype,
    )

    m, r = config.model, config.rollout
    from envalign.agents.models import load_model

    model, tokenizer = load_model(m.name, seed=m.seed)
    device = resolve_device(device or (None if m.device == "auto" else m.device))
    dtype = resolve_dtype(m.dtype, device)
    if m.gradient_checkpointing:
        # transformers 5 renamed it (the old name warns); generation asks for its cache itself.
        enable = getattr(model, "activation_checkpointing_enable", None)
        (enable or model.gradient_checkpointing_enable)()
        model.config.use_cache = False
    if m.lora.enabled:
        model = _with_lora(model, m.lora)
    sampling = SamplingParams(
        temperature=r.temperature, top_p=r.top_p, max_new_tokens=r.max_new_tokens
    )
    return TransformersPolicy(
        model,
        tokenizer,
        sampling=sampling,
        max_batch_size=r.max_batch_size,
        max_prompt_tokens=r.max_prompt_tokens,
        max_batch_tokens=max(65_536, r.max_batch_size * (r.max_prompt_tokens + r.max_new_tokens)),
        device=device,
        dtype=dtype,
        name=f"train:{m.name}",
    )


def _with_lora(model: Any, lora: Any) -> Any:
    try:
        import peft
    except ImportError as error:
        from envalign.envs.errors import DependencyNotInstalled

        raise DependencyNotInstalled("peft", "train", "train LoRA adapters") from error
    settings = peft.LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=list(lora.target_modules),
        task_type="CAUSAL_LM",
    )
    try:
        return peft.get_peft_model(model, settings)
    except ValueError as error:
        raise ConfigError(
            f"model.lora.target_modules = {lora.target_modules!r}: {error}"
        ) from error
