"""envalign.agents: the ``Policy`` protocol and its implementations.

Modules: ``base`` (the protocol), ``baselines`` (scripted and random policies per environment),
``transformers_policy`` (``TransformersPolicy``: batched generation, log-probs, likelihood scoring),
``langchain_policy`` (``LangChainPolicy``, ``TransformersChatModel``), ``models`` (the offline model
cache: ``pull_model``, ``load_model``, ``tiny_random_model``), ``scoring`` (GLAM/TWOSOME
normalisations) and ``registry`` (names on the command line: ``hf:PATH``, presets, baselines).

Heavy backends (torch, transformers, langchain) are imported only by the modules that use them, so
``from envalign.agents import TransformersPolicy`` is deliberately not offered here.
"""

from envalign.agents.base import Conversation, Generation, Policy, SamplingParams, TurnRequest
from envalign.agents.baselines import BaselinePolicy, baseline_policy, generic_random
from envalign.agents.registry import resolve_policy

__all__ = [
    "BaselinePolicy",
    "Conversation",
    "Generation",
    "Policy",
    "SamplingParams",
    "TurnRequest",
    "baseline_policy",
    "generic_random",
    "resolve_policy",
]
