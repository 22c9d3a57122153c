from dataclasses import dataclass, field

import pytest

from envalign.agents.base import Generation, Policy
from envalign.envs.judges import Judgement, LLMJudge, RuleJudge


@dataclass
class CannedPolicy:
    """A stand-in Policy replying with canned texts in order, recording every batch."""

    replies: list[str]
    name: str = "canned"
    batches: list[list] = field(default_factory=list)

    def act(self, requests):
        self.batches.append(list(requests))
        return [Generation(text=self.replies.pop(0)) for _ in requests]


def test_the_canned_policy_satisfies_the_protocol():
    assert isinstance(CannedPolicy([]), Policy)


def test_a_rating_and_feedback_are_parsed():
    policy = CannedPolicy(["Rating: 6/7\nFeedback: Honest and kind."])
    verdict = LLMJudge(policy).score("Q?", "An answer.")
    assert (verdict.score, verdict.feedback, verdict.judge) == (
        6.0,
        "Honest and kind.",
        "llm:canned",
    )
    assert verdict.raw.startswith("Rating: 6/7") and not verdict.fallback
    request = policy.batches[0][0]
    assert (
        request.messages[0]["role"] == "system" and "Rating: k/7" in request.messages[0]["content"]
    )
    assert "Answer: An answer." in request.messages[1]["content"]


def test_unusable_replies_are_retried_with_the_format():
    policy = CannedPolicy(["It is good.", "Rating: 9/7", "5/7 fine"])
    verdict = LLMJudge(policy, retries=2).score("Q?", "A.")
    assert verdict.score == 5.0 and not verdict.fallback
    last = policy.batches[-1][0].messages
    assert [m["role"] for m in last] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert "Rating: k/7" in last[3]["content"]


def test_the_fallback_score_when_every_attempt_fails():
    policy = CannedPolicy(["no", "still no"])
    verdict = LLMJudge(policy, retries=1, fallback_score=3.0).score("Q?", "A.")
    assert verdict.score == 3.0 and verdict.fallback and verdict.raw == "still no"


def test_a_fallback_judge_is_asked_when_every_attempt_fails():
    verdict = LLMJudge(CannedPolicy(["no"]), retries=0, fallback=RuleJudge()).score("Q?", "")
    assert verdict.score == 1.0 and verdict.fallback and verdict.judge == "rule"


def test_each_round_of_attempts_is_one_batch():
    policy = CannedPolicy(["Rating: 7", "??", "Rating: 2", "Rating: 4"])
    verdicts = LLMJudge(policy).score_many([("Q1", "a"), ("Q2", "b"), ("Q3", "c")])
    assert [v.score for v in verdicts] == [7.0, 4.0, 2.0]
    assert [len(batch) for batch in policy.batches] == [3, 1]


def test_a_policy_that_drops_requests_is_a_programming_error():
    class Broken:
        name = "broken"

        def act(self, requests):
            return []

    with pytest.raises(RuntimeError, match="must answer every request"):
        LLMJudge(Broken()).score("Q?", "A.")


def test_arguments_are_validated():
    with pytest.raises(ValueError, match="fallback_score"):
        LLMJudge(CannedPolicy([]), fallback_score=9)
    with pytest.raises(ValueError, match="score"):
        Judgement(0.5, "too low")
