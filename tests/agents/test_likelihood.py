"""CandidateScorer: the shared-prompt, chunked scorer gives the plain full-sequence log-likelihoods."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from envalign.agents.base import SamplingParams, TurnRequest, history_window  # noqa: E402
from envalign.agents.likelihood import plain_logprobs  # noqa: E402
from envalign.agents.models import tiny_random_model  # noqa: E402
from envalign.agents.scoring import normalise  # noqa: E402
from envalign.agents.transformers_policy import TransformersPolicy  # noqa: E402
from envalign.envs.core import ActContext  # noqa: E402

SYSTEM = {
    "role": "system",
    "content": "You are an agent in a text environment. Reply with the action.",
}
ACTIONS = [
    "go north",
    "go south",
    "take key",
    "open door",
    "pick up the red ball",
    "toggle",
    "done",
]


def conversation(turns: int, first: str = "Mission: go to the red ball.") -> list[dict[str, str]]:
    """A system message and ``turns`` observations, with the replies in between."""
    messages = [SYSTEM, {"role": "user", "content": first}]
    for turn in range(1, turns):
        messages.append({"role": "assistant", "content": ACTIONS[turn % len(ACTIONS)]})
        messages.append({"role": "user", "content": f"Step {turn}: you see a wall {turn} steps."})
    return messages


@pytest.fixture(scope="module")
def tiny():
    return tiny_random_model(seed=3)


def make_policy(tiny, **kwargs):
    model, tokenizer = tiny
    params = SamplingParams(temperature=0, max_new_tokens=4)
    return TransformersPolicy(model, tokenizer, sampling=params, device="cpu", **kwargs)


def request(messages, actions=ACTIONS):
    context = ActContext(env=None, agent="agent", observation="", info={})
    return TurnRequest(messages=messages, context=context, valid_actions=list(actions))


def reference(policy, requests):
    """Token log-probs from one full prompt + candidate sequence per pair (no cache at all)."""
    rows = []
    for r in requests:
        prompt = policy.prompt_ids(r.messages)
        for action in r.valid_actions:
            ids = policy.candidate_ids(action)
            rows.append(plain_logprobs(policy.model, [prompt], [ids], 0, policy.device)[0])
    return rows


@pytest.mark.parametrize("how", ["sum", "token", "word"])
@pytest.mark.parametrize("budget", [8192, 64])
def test_scores_equal_the_plain_full_sequence_computation(tiny, how, budget):
    policy = make_policy(tiny, score_token_budget=budget, history=None)
    requests = [
        request(conversation(1)),
        request(conversation(4)),
        request(conversation(2, first="Mission: open the door.")),
        request([{"role": "user", "content": "hello"}], ACTIONS[:3]),  # no system: no head
    ]
    expected = iter(reference(policy, requests))
    scores = policy.score(requests, normalisation=how)
    for r, row in zip(requests, scores, strict=True):
        for action, score in zip(r.valid_actions, row, strict=True):
            want = normalise(next(expected), action, how)
            assert math.isclose(score, want, rel_tol=1e-4, abs_tol=1e-4), (action, score, want)


def test_earlier_prompts_are_reused_and_scores_do_not_change(tiny):
    policy = make_policy(tiny, history=None)
    first = policy.score([request(conversation(3))])
    run = policy.scorer.stats["prompt_tokens_run"]
    again = policy.score([request(conversation(3))])  # the same prompt: one token runs again
    assert policy.scorer.stats["prompt_tokens_run"] == run + 1
    assert again[0] == pytest.approx(first[0], abs=1e-5)
    full = len(policy.prompt_ids(conversation(4)))
    later = policy.score([request(conversation(4))])  # extends turn 3: only the new part runs
    added = policy.scorer.stats["prompt_tokens_run"] - run - 1
    assert 0 < added < full - len(policy.prompt_ids(conversation(3))) + 2
    expected = reference(policy, [request(conversation(4))])
    for score, lps, action in zip(later[0], expected, ACTIONS, strict=True):
        assert math.isclose(score, normalise(lps, action, "token"), abs_tol=1e-4)


def test_a_weight_update_drops_the_cached_heads(tiny):
    model, tokenizer = tiny_random_model(seed=5)
    policy = TransformersPolicy(model, tokenizer, device="cpu", history=None)
    before = policy.score([request(conversation(3))])
    with torch.no_grad():
        for parameter in policy.model.parameters():
            parameter.mul_(1.5)  # what an optimizer step does: in place
    after = policy.score([request(conversation(3))])
    expected = reference(policy, [request(conversation(3))])
    assert after != before
    for score, lps, action in zip(after[0], expected, ACTIONS, strict=True):
        assert math.isclose(score, normalise(lps, action, "token"), abs_tol=1e-4)


def test_greedy_choice_is_the_argmax_of_the_plain_scores(tiny):
    policy = make_policy(tiny, history=None, action_selection="likelihood")
    requests = [request(conversation(n)) for n in (1, 2, 3, 6)]
    chosen = policy.act(requests)
    for r, generation in zip(requests, chosen, strict=True):
        plain = [
            normalise(lps, a, "token")
            for lps, a in zip(reference(policy, [r]), ACTIONS, strict=True)
        ]
        assert generation.text == ACTIONS[max(range(len(plain)), key=plain.__getitem__)]
        assert generation.prompt_token_ids == policy.prompt_ids(r.messages)


def test_many_candidates_are_scored_in_bounded_chunks(tiny):
    """A thousand candidates: each chunk copies at most the budget's worth of cache."""
    policy = make_policy(tiny, score_token_budget=256, history=None)
    actions = [f"OFFER {n}" for n in range(1000)]
    seen: list[int] = []
    original = policy.scorer._run_pieces

    def spy(state, chunk, continuations, batch):
        fed = max(sum(len(continuations[batch[r]][k]) - 1 for k in ks) for r, ks in chunk)
        seen.append(len(chunk) * (state.width + fed))
        return original(state, chunk, continuations, batch)

    policy.scorer._run_pieces = spy
    scores = policy.score([request(conversation(2), actions)])[0]
    assert len(scores) == 1000 and all(math.isfinite(s) for s in scores)
    assert seen and max(seen) <= 256
    sample = [0, 1, 500, 999]
    expected = reference(policy, [request(conversation(2), [actions[i] for i in sample])])
    for i, lps in zip(sample, expected, strict=True):
        assert math.isclose(scores[i], normalise(lps, actions[i], "token"), abs_tol=1e-4)


def test_history_window_keeps_the_first_exchange_and_drops_older_ones_in_blocks():
    for turns in range(1, 30):
        messages = conversation(turns)
        window = history_window(messages, 3)
        assert window[0] == SYSTEM and window[1] == messages[1] and window[-1] == messages[-1]
        assert len(window) <= 1 + 2 + 2 * 3 + 1  # system, first exchange, 3 more, observation
        assert (
            window[len(window) - (len(window) - 3) :] == messages[len(messages) - len(window) + 3 :]
        )
        following = history_window(conversation(turns + 1), 3)
        if len(following) > len(window):  # growing: the next prompt extends this one
            assert following[: len(window)] == window
    assert history_window(conversation(5), None) == conversation(5)
    assert history_window(conversation(5), 0) == [*conversation(5)[:3], conversation(5)[-1]]
    with pytest.raises(ValueError, match="history must be"):
        history_window(conversation(5), -1)


def test_the_policy_prompt_is_bounded_by_default(tiny):
    policy = make_policy(tiny)
    lengths = [len(policy.prompt_ids(conversation(n))) for n in range(1, 60)]
    assert max(lengths) <= lengths[5] + 10
    unbounded = make_policy(tiny, history=None).prompt_ids(conversation(59))
    assert len(unbounded) > max(lengths) * 3
