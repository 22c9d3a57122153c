"""envalign.agents: the ``Policy`` protocol and its implementations.

Implementations: baselines, transformers, LangChain.

Heavy backends (torch, transformers, langchain) are imported only by the modules that use them.
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
