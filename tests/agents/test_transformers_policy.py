"""TransformersPolicy on the offline tiny-random model: batching, log-probs, seeds, scoring."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from envalign.agents.base import Generation, SamplingParams, TurnRequest  # noqa: E402
from envalign.agents.models import tiny_random_model  # noqa: E402
from envalign.agents.transformers_policy import (  # noqa: E402
    TransformersPolicy,
    _top_p_filter,
    resolve_dtype,
)
from envalign.envs.core import ActContext  # noqa: E402

CONVERSATIONS = [
    [{"role": "user", "content": "hello"}],
    [
        {"role": "system", "content": "You are the proposer."},
        {"role": "user", "content": "Split 100 coins with the responder. Reply OFFER n."},
    ],
    [{"role": "user", "content": "What is 12 + 7? Answer with the number only."}],
]


@pytest.fixture(scope="module")
def tiny():
    return tiny_random_model(seed=0)


def make_policy(tiny, **sampling):
    model, tokenizer = tiny
    params = SamplingParams(**{"max_new_tokens": 6, **sampling})
    return TransformersPolicy(model, tokenizer, sampling=params, device="cpu")


def request(messages, valid_actions=None):
    context = ActContext(env=None, agent="agent", observation="", info={})
    return TurnRequest(messages=messages, context=context, valid_actions=valid_actions)


def test_prompt_ids_are_the_exact_unpadded_chat_template_ids(tiny):
    policy = make_policy(tiny, temperature=0)
    generations = policy.generate(CONVERSATIONS)
    for messages, generation in zip(CONVERSATIONS, generations, strict=True):
        text = policy.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=False
        )
        assert text.endswith("<|im_start|>assistant\n")
        expected = policy.tokenizer(text, add_special_tokens=False)["input_ids"]
        assert generation.prompt_token_ids == expected
        assert policy.pad_token_id not in generation.prompt_token_ids


def test_batched_greedy_equals_one_at_a_time(tiny):
    batched = make_policy(tiny, temperature=0).generate(CONVERSATIONS)
    single = make_policy(tiny, temperature=0)
    single.max_batch_size = 1
    alone = single.generate(CONVERSATIONS)
    for a, b in zip(batched, alone, strict=True):
        assert a.token_ids == b.token_ids
        assert a.logprobs == pytest.approx(b.logprobs, abs=1e-4)


def test_length_cap_and_finish_reason(tiny):
    generations = make_policy(tiny, temperature=0, max_new_tokens=4).generate(CONVERSATIONS)
    for generation in generations:
        assert len(generation.token_ids) == 4
        assert len(generation.logprobs) == 4
        assert generation.finish_reason == "length"


def test_eos_is_kept_and_ends_the_reply(tiny):
    policy = make_policy(tiny, temperature=0)
    first = policy.generate(CONVERSATIONS[:1])[0].token_ids[0]
    policy.eos_token_ids = {first}
    generation = policy.generate(CONVERSATIONS[:1])[0]
    assert generation.token_ids == [first]
    assert generation.finish_reason == "stop"


def test_greedy_logprobs_match_teacher_forced_model_logprobs(tiny):
    policy = make_policy(tiny, temperature=0)
    generations = policy.generate(CONVERSATIONS)
    recomputed = policy.logprobs_of(
        [g.prompt_token_ids for g in generations], [g.token_ids for g in generations]
    )
    for generation, values in zip(generations, recomputed, strict=True):
        assert generation.logprobs == pytest.approx(values, abs=1e-4)
        assert generation.model_logprobs == pytest.approx(values, abs=1e-4)


def test_sampled_logprobs_are_under_the_tempered_distribution(tiny):
    temperature = 0.5
    policy = make_policy(tiny, temperature=temperature, seed=3)
    generation = policy.generate(CONVERSATIONS[1:2])[0]
    ids = torch.tensor([generation.prompt_token_ids + generation.token_ids])
    with torch.no_grad():
        logits = policy.model(input_ids=ids).logits[0].float()
    count = len(generation.token_ids)
    targets = ids[0, -count:]
    steps = logits[-count - 1 : -1]
    tempered = torch.log_softmax(steps / temperature, -1).gather(-1, targets[:, None])[:, 0]
    raw = torch.log_softmax(steps, -1).gather(-1, targets[:, None])[:, 0]
    assert generation.logprobs == pytest.approx(tempered.tolist(), abs=1e-4)
    assert generation.model_logprobs == pytest.approx(raw.tolist(), abs=1e-4)
    assert generation.logprobs != pytest.approx(generation.model_logprobs, abs=1e-3)


def test_seed_makes_sampling_reproducible(tiny):
    first = make_policy(tiny, temperature=1.0, seed=7).generate(CONVERSATIONS)
    again = make_policy(tiny, temperature=1.0, seed=7).generate(CONVERSATIONS)
    other = make_policy(tiny, temperature=1.0, seed=8).generate(CONVERSATIONS)
    assert [g.token_ids for g in first] == [g.token_ids for g in again]
    assert [g.token_ids for g in first] != [g.token_ids for g in other]


def test_stop_string_cuts_text_and_stops_early(tiny):
    full = make_policy(tiny, seed=5, max_new_tokens=12).generate(CONVERSATIONS[:1])[0]
    pieces = [make_policy(tiny).tokenizer.decode([t]) for t in full.token_ids]
    stop = next(p.strip() for p in pieces[2:] if p.strip().isalnum())
    assert stop not in "".join(pieces[:1])
    cut = make_policy(tiny, seed=5, max_new_tokens=12, stop=(stop,)).generate(CONVERSATIONS[:1])[0]
    assert stop not in cut.text
    assert cut.finish_reason == "stop"
    assert len(cut.token_ids) < len(full.token_ids)
    assert full.text.startswith(cut.text)


def test_score_normalisations_are_consistent(tiny):
    policy = make_policy(tiny)
    candidates = [["OFFER 50", "ACCEPT", "go north now"]]
    summed = policy.score([CONVERSATIONS[1]], candidates, normalisation="sum")[0]
    per_token = policy.score([CONVERSATIONS[1]], candidates, normalisation="token")[0]
    per_word = policy.score([CONVERSATIONS[1]], candidates, normalisation="word")[0]
    prompt = policy.prompt_ids(CONVERSATIONS[1])
    for text, s, t, w in zip(candidates[0], summed, per_token, per_word, strict=True):
        ids = policy.candidate_ids(text)
        assert s == pytest.approx(sum(policy.logprobs_of([prompt], [ids])[0]), abs=1e-4)
        assert t == pytest.approx(s / len(ids), abs=1e-5)
        assert w == pytest.approx(s / len(text.split()), abs=1e-5)
        assert s < 0


def test_likelihood_mode_picks_the_best_valid_action_when_greedy(tiny):
    model, tokenizer = tiny
    policy = TransformersPolicy(
        model,
        tokenizer,
        sampling=SamplingParams(temperature=0, max_new_tokens=4),
        action_selection="likelihood",
        normalisation="sum",
    )
    actions = ["ACCEPT", "REJECT", "OFFER 10"]
    requests = [request(CONVERSATIONS[1], actions), request(CONVERSATIONS[0])]
    chosen, generated = policy.act(requests)
    scores = policy.score([requests[0]], normalisation="sum")[0]
    assert chosen.text == actions[max(range(3), key=lambda i: scores[i])]
    assert chosen.finish_reason == "likelihood"
    assert chosen.action_scores == pytest.approx(scores)
    assert chosen.token_ids == policy.candidate_ids(chosen.text)
    assert isinstance(generated, Generation) and generated.finish_reason == "length"


def test_likelihood_sampling_follows_the_softmax(tiny):
    model, tokenizer = tiny
    policy = TransformersPolicy(
        model,
        tokenizer,
        sampling=SamplingParams(temperature=1.0, seed=0),
        action_selection="likelihood",
    )
    actions = ["ACCEPT", "REJECT"]
    picks = [g.text for g in policy.act([request(CONVERSATIONS[0], actions)] * 200)]
    scores = policy.score([request(CONVERSATIONS[0], actions)])[0]
    expected = math.exp(scores[0]) / (math.exp(scores[0]) + math.exp(scores[1]))
    assert picks.count("ACCEPT") / 200 == pytest.approx(expected, abs=0.12)


def test_top_p_keeps_the_smallest_nucleus():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    kept = torch.isfinite(_top_p_filter(logits, 0.75))[0].tolist()
    assert kept == [True, True, False, False]
    assert torch.isfinite(_top_p_filter(logits, 1.0)).all()


def test_dtype_names():
    cpu = torch.device("cpu")
    assert resolve_dtype(None, cpu) == torch.float32
    assert resolve_dtype("bf16", cpu) == torch.bfloat16
    with pytest.raises(ValueError, match="Unknown dtype"):
        resolve_dtype("fp8", cpu)


def test_score_without_candidates_says_what_to_pass(tiny):
    with pytest.raises(ValueError, match="needs candidates"):
        make_policy(tiny).score([CONVERSATIONS[0]])


def test_shared_prompt_scoring_matches_full_recomputation_across_requests(tiny):
    policy = make_policy(tiny)
    policy.max_batch_size = 2  # forces several chunks
    candidates = [["a", "go north now", "OFFER 50"], ["ACCEPT"], ["x", "yy yy"]]
    scores = policy.score(CONVERSATIONS, candidates, normalisation="sum")
    for messages, texts, row in zip(CONVERSATIONS, candidates, scores, strict=True):
        prompt = policy.prompt_ids(messages)
        expected = [sum(policy.logprobs_of([prompt], [policy.candidate_ids(t)])[0]) for t in texts]
        assert row == pytest.approx(expected, abs=1e-4)


def test_rows_that_finish_early_leave_the_batch_without_disturbing_the_others(tiny):
    conversations = CONVERSATIONS * 2
    free = make_policy(tiny, seed=9, max_new_tokens=10).generate(conversations)
    pieces = [make_policy(tiny).tokenizer.decode([t]) for t in free[0].token_ids]
    stop = next(p.strip() for p in pieces[1:] if p.strip().isalnum())
    policy = make_policy(tiny, seed=9, max_new_tokens=10, stop=(stop,))
    cut = policy.generate(conversations)
    lengths = [len(g.token_ids) for g in cut]
    assert min(lengths) < max(lengths) == 10  # some rows left early, some ran to the cap
    recomputed = policy.logprobs_of([g.prompt_token_ids for g in cut], [g.token_ids for g in cut])
    for generation, values in zip(cut, recomputed, strict=True):
        assert generation.model_logprobs == pytest.approx(values, abs=1e-4)


@pytest.mark.gpu
def test_cuda_defaults_to_bf16_and_matches_cpu_greedy(tiny):
    model, tokenizer = tiny_random_model(seed=0)
    policy = TransformersPolicy(
        model, tokenizer, sampling=SamplingParams(temperature=0, max_new_tokens=4)
    )
    assert policy.device.type == "cuda" and policy.dtype == torch.bfloat16
    generations = policy.generate(CONVERSATIONS)
    assert all(len(g.token_ids) == 4 and len(g.logprobs) == 4 for g in generations)
    recomputed = policy.logprobs_of(
        [g.prompt_token_ids for g in generations], [g.token_ids for g in generations]
    )
    for generation, values in zip(generations, recomputed, strict=True):
        assert generation.model_logprobs == pytest.approx(values, abs=0.05)  # bf16


def test_reseed_restarts_the_generator_even_with_the_same_seed(tiny):
    policy = make_policy(tiny, temperature=1.0, seed=4)
    first = [g.token_ids for g in policy.generate(CONVERSATIONS)]
    continued = [g.token_ids for g in policy.generate(CONVERSATIONS)]
    policy.reseed(4)
    again = [g.token_ids for g in policy.generate(CONVERSATIONS)]
    assert again == first != continued
