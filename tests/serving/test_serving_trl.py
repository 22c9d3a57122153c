"""TRL's GRPOTrainer trains against an environment served by ``envalign serve``, via OpenEnv."""

from __future__ import annotations

import importlib.resources
import importlib.util
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "openenv_trl" / "train_grpo.py"


def _example():
    spec = importlib.util.spec_from_file_location("openenv_trl_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _serve(*args: str) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("envalign")), "serve", *args, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert server.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = server.stdout.readline()
        found = re.search(r"at (ws://127\.0\.0\.1:\d+) ", line)
        if found:
            return server, found.group(1)
        if not line and server.poll() is not None:
            break
    server.kill()
    raise AssertionError("envalign serve did not start")


def test_the_example_never_imports_envalign() -> None:
    text = EXAMPLE.read_text()
    assert "import envalign" not in text and "from envalign" not in text


@pytest.mark.slow
def test_grpo_trainer_trains_on_a_served_game_through_openenvs_client(tmp_path: Path) -> None:
    pytest.importorskip("trl")
    from trl import GRPOConfig, GRPOTrainer

    from envalign.agents.models import tiny_random_model

    server, url = _serve("envalign/Ultimatum-v0", "--seat", "proposer=scripted")
    try:
        example = _example()
        factory = example.openenv_environment(url, name="Ultimatum_remote")
        seeds: list[int | None] = []
        prompts: list[str] = []
        reset = factory.reset

        def counted_reset(self, seed=None, **row):  # noqa: ANN001, ANN003, ANN202 - TRL's call
            seeds.append(seed)
            prompts.append(reset(self, seed=seed, **row))
            return prompts[-1]

        factory.reset = counted_reset
        model, tokenizer = tiny_random_model(0)
        template = importlib.resources.files("trl") / "chat_templates" / "qwen2_5.jinja"
        tokenizer.chat_template = template.read_text()  # a template that renders tool calls
        args = GRPOConfig(
            output_dir=str(tmp_path),
            max_steps=2,
            per_device_train_batch_size=4,
            num_generations=4,
            max_completion_length=8,
            max_tool_calling_iterations=2,
            logging_steps=1,
            report_to="none",
            use_cpu=True,
            bf16=False,
            save_strategy="no",
            seed=0,
        )
        trainer = GRPOTrainer(
            model=model,
            environment_factory=factory,
            args=args,
            train_dataset=example.dataset(8),
            processing_class=tokenizer,
        )
        trainer.train()
        assert trainer.state.global_step == 2
        assert len(seeds) == 8 and all(isinstance(s, int) for s in seeds)
        logged = [r for r in trainer.state.log_history if "rewards/Ultimatum_remote/mean" in r]
        assert len(logged) == 2  # the served episodes' returns are TRL's reward
        # Each rollout began with the served episode of its seed: the in-process one.
        from envalign.training.trl_environment import environment_factory

        local = environment_factory("envalign/Ultimatum-v0", agent="responder")()
        assert prompts == [local.reset(seed=seed) for seed in seeds]
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
