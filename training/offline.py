"""Datasets from environment feedback: best-of-n, preference pairs and rated groups.

Episodes (from a training rollout or from ``envalign run --out FILE.jsonl``) become training data for
the offline algorithms without re-tokenizing anything:

* :func:`best_of_n` for rejection-sampling fine-tuning,
* :func:`preference_pairs` for DPO (the best and the worst response to the same prompt),
* :func:`rated_groups` for the Stable Alignment objective (every response to a prompt with its rating).

SocialSandbox's interaction records (answers and their peer ratings) become rated samples with
:func:`load_records_samples`.

Responses "to the same prompt" are the turns at the same position (agent, turn index) of episodes in
the same group (same task, same seed). Episodes read from a file are grouped by ``(env_id, seed)``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from envalign.training.algorithms.batch import TurnSample, turn_samples
from envalign.training.algorithms.rejection_sampling import best_of_n
from envalign.training.algorithms.stable_alignment import RatedGroup, rated_groups
from envalign.training.episodes import Episode, read_episodes

__all__ = [
    "PreferencePair",
    "RatedGroup",
    "best_of_n",
    "group_by_seed",
    "load_records_samples",
    "load_samples",
    "preference_pairs",
    "rated_groups",
    "rated_text_samples",
]


@dataclass
class PreferencePair:
    """Two responses to the same prompt, the environment preferring ``chosen``.

    Attributes:
        chosen: The higher-credit response.
        rejected: The lower-credit response.
        margin: ``chosen.credit - rejected.credit`` (> 0).
    """

    chosen: TurnSample
    rejected: TurnSample
    margin: float


def preference_pairs(
    samples: Sequence[TurnSample], *, min_margin: float = 0.0
) -> list[PreferencePair]:
    """One pair per prompt: its best response against its worst, when their credits differ.

    Args:
        samples: Samples of several groups.
        min_margin: Keep pairs whose credit gap exceeds this.

    Returns:
        The pairs, in the order their prompts first appear.
    """
    buckets: dict[tuple[int, str, int], list[TurnSample]] = {}
    for sample in samples:
        buckets.setdefault((sample.group, sample.agent, sample.turn), []).append(sample)
    pairs = []
    for members in buckets.values():
        best = max(members, key=lambda s: s.credit)
        worst = min(members, key=lambda s: s.credit)
        if best.credit - worst.credit > min_margin and best.prompt_ids == worst.prompt_ids:
            pairs.append(PreferencePair(best, worst, best.credit - worst.credit))
    return pairs


def group_by_seed(episodes: Iterable[Episode]) -> list[Episode]:
    """Set each episode's ``group`` so that episodes of the same environment and seed share one."""
    groups: dict[tuple[str, int], int] = {}
    out = []
    for episode in episodes:
        episode.group = groups.setdefault((episode.env_id, episode.seed), len(groups))
        out.append(episode)
    return out


def load_samples(
    path: str | os.PathLike[str],
    *,
    agents: Iterable[str] | None = None,
    credit: str = "episode",
    gamma: float = 1.0,
) -> list[TurnSample]:
    """Read an episodes file (JSON Lines) and turn it into grouped training samples."""
    episodes = group_by_seed(read_episodes(path))
    return turn_samples(episodes, agents=agents, credit=credit, gamma=gamma)


def rated_text_samples(
    groups: Sequence[tuple[str, Sequence[str], Sequence[float]]],
    tokenizer: Any,
    *,
    system_prompt: str | None = None,
) -> list[TurnSample]:
    """Samples from rated texts: ``(question, responses, ratings)`` per group.

    These are new supervised data (answers written and rated elsewhere), not a policy's own
    trajectory, so they are tokenized here: the prompt with the tokenizer's chat template (system
    message when given, then the question as the user's turn), each response as the assistant's
    reply followed by the end-of-sequence token.

    Args:
        groups: Question, its responses, and one rating per response.
        tokenizer: A tokenizer with a chat template.
        system_prompt: The system message of every prompt.

    Returns:
        One sample per response; ``group`` is the index of its question, ``credit`` its rating.
    """
    samples = []
    for index, (question, responses, ratings) in enumerate(groups):
        messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
        messages.append({"role": "user", "content": question})
        text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        prompt_ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
        for response, rating in zip(responses, ratings, strict=True):
            ids = list(tokenizer(response, add_special_tokens=False)["input_ids"])
            ids.append(int(tokenizer.eos_token_id))
            samples.append(
                TurnSample(
                    prompt_ids, ids, None, float(rating), index, -1, "record", 0, float(rating)
                )
            )
    return samples


def load_records_samples(
    path: str | os.PathLike[str], tokenizer: Any, *, system_prompt: str | None = None
) -> list[TurnSample]:
    """SocialSandbox interaction records (JSON Lines) as rated samples for Stable Alignment.

    Every rated draft and revision of a question becomes one response of that question's group,
    credited with its mean peer rating (1-7), as in Liu et al. (2023).
    """
    from envalign.envs.social.records import read_records, stable_alignment_examples

    examples = stable_alignment_examples(read_records(path))
    groups = [(e.prompt, e.responses, e.ratings) for e in examples]
    return rated_text_samples(groups, tokenizer, system_prompt=system_prompt)
