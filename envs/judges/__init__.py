"""Judges: turn a (question, answer) pair into a 1-7 rating and written feedback.

:class:`RuleJudge` is a deterministic keyword heuristic for fast runs and tests; :class:`LLMJudge`
asks any :class:`~envalign.agents.base.Policy` with a rubric and parses its rating robustly.
"""

from envalign.envs.judges.base import Judge, Judgement
from envalign.envs.judges.llm import DEFAULT_RUBRIC, LLMJudge
from envalign.envs.judges.parsing import parse_feedback, parse_rating
from envalign.envs.judges.rule import RuleJudge

__all__ = [
    "DEFAULT_RUBRIC",
    "Judge",
    "Judgement",
    "LLMJudge",
    "RuleJudge",
    "parse_feedback",
    "parse_rating",
]
