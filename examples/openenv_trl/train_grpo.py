"""Train with TRL's GRPOTrainer on an envalign environment served over OpenEnv, without envalign.

The trainer side imports only TRL, transformers and OpenEnv's client: the environment runs in
``envalign serve`` (another process, possibly another machine), which plays the other seats and keeps
any sandbox on its side. Every TRL rollout is one episode; each model turn is a call of the ``act``
tool, which sends the text over OpenEnv's WebSocket and returns the next observation::

    envalign serve envalign/Ultimatum-v0 --seat proposer=scripted --port 8000 &
    python examples/openenv_trl/train_grpo.py --url ws://127.0.0.1:8000 \
        --model HuggingFaceTB/SmolLM2-135M-Instruct --steps 20

The responder seat is trained against the server's scripted proposer; the reward is the seat's
return over the episode (OpenEnv's ``reward`` of each step, summed).
"""

from __future__ import annotations

import argparse
from typing import Any

from openenv.core import GenericEnvClient

EPISODE_OVER = "The episode is over."
TOOL_INSTRUCTION = (
    "You act in a text environment through the `act` tool. Call it with your action; it answers "
    "with what happens next. Keep acting until the episode is over."
)


def openenv_environment(url: str, name: str = "OpenEnvEpisode", timeout_s: float = 90.0) -> type:
    """A class for ``GRPOTrainer(environment_factory=...)``: one OpenEnv session per instance.

    TRL builds a few instances (one per rollout of a batch), reuses them across batches through
    ``reset(**row)``, exposes the public method ``act`` as a tool and scores with ``get_reward``.
    """

    class OpenEnvEpisode:
        def __init__(self) -> None:
            self.client = GenericEnvClient(base_url=url, message_timeout_s=timeout_s).sync()
            self.client.connect()
            self.reward = 0.0
            self.done = True

        def reset(self, seed: int | None = None, **row: Any) -> str:
            """Start the episode of the row's seed; the observation is appended to the prompt."""
            result = self.client.reset(seed=None if seed is None else int(seed))
            self.reward, self.done = 0.0, bool(result.done)
            return result.observation["text"]

        def act(self, action: str) -> str:
            """Take one action in the environment.

            Args:
                action: Your action, written as the observation asks for it.

            Returns:
                What happens next: the new observation, or a note that the episode is over.
            """
            if self.done:
                return EPISODE_OVER
            result = self.client.step({"text": str(action)})
            self.reward += float(result.reward or 0.0)
            self.done = bool(result.done)
            text = result.observation["text"]
            feedback = result.observation.get("info", {}).get("feedback", "")
            if feedback and feedback not in text:
                text = f"{feedback}\n{text}"
            return f"{text}\n{EPISODE_OVER}" if self.done else text

        def get_reward(self) -> float:
            """The seat's return in this episode."""
            return self.reward

    OpenEnvEpisode.__name__ = OpenEnvEpisode.__qualname__ = name
    return OpenEnvEpisode


def dataset(n: int, seed: int = 0, system: str = TOOL_INSTRUCTION) -> Any:
    """``n`` prompts, one seed each: ``reset`` appends the episode's first observation."""
    from datasets import Dataset

    rows = [
        {
            "prompt": [
                {"role": "system", "content": system},
                {"role": "user", "content": "The episode begins.\n"},
            ],
            "seed": s,
        }
        for s in range(seed, seed + n)
    ]
    return Dataset.from_list(rows)


def main() -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="ws://127.0.0.1:8000", help="the envalign serve address")
    parser.add_argument("--model", required=True, help="a transformers model folder or name")
    parser.add_argument("--steps", type=int, default=20, help="training steps")
    parser.add_argument("--out", default="runs/openenv-grpo", help="output folder")
    args = parser.parse_args()
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(args.model)
    trainer = GRPOTrainer(
        model=model,
        processing_class=tokenizer,
        environment_factory=openenv_environment(args.url),
        train_dataset=dataset(8 * args.steps),
        args=GRPOConfig(
            output_dir=args.out,
            max_steps=args.steps,
            per_device_train_batch_size=4,
            num_generations=4,
            max_completion_length=64,
            max_tool_calling_iterations=4,
            logging_steps=1,
            report_to="none",
        ),
    )
    trainer.train()


if __name__ == "__main__":
    main()
