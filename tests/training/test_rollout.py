"""The runner: batching across episodes, per-agent policies, records, sampling, Ctrl-C."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from envalign.agents.base import Generation, SamplingParams, TurnRequest
from envalign.agents.baselines import baseline_policy
from envalign.training.episode_host import prompt_window
from envalign.training.episodes import read_episodes
from envalign.training.rollout import Runner, histogram_path, simulate

ULTIMATUM = "envalign/Ultimatum-v0"


class Recording:
    """Scripted Ultimatum play that records every batch it is asked for."""

    def __init__(self, interrupt_on_call: int | None = None) -> None:
        self.name = "recording"
        self.inner = baseline_policy(ULTIMATUM, "scripted")
        self.batches: list[list[str]] = []
        self.interrupt_on_call = interrupt_on_call

    def act(self, requests: Sequence[TurnRequest]) -> list[Generation]:
        self.batches.append([r.context.agent for r in requests])
        if self.interrupt_on_call is not None and len(self.batches) == self.interrupt_on_call:
            raise KeyboardInterrupt
        return [
            Generation(text=g.text, token_ids=[1, 2], logprobs=[-0.5, -0.25], prompt_token_ids=[9])
            for g in self.inner.act(requests)
        ]


def test_all_pending_turns_of_a_policy_are_one_batch():
    policy = Recording()
    episodes = Runner(ULTIMATUM, policy, concurrency=8).run(range(8))
    assert len(episodes) == 8
    assert policy.batches == [["proposer"] * 8, ["responder"] * 8]
    assert [e.seed for e in episodes] == list(range(8))


def test_concurrency_caps_episodes_in_flight():
    policy = Recording()
    Runner(ULTIMATUM, policy, concurrency=3).run(range(7))
    assert max(len(batch) for batch in policy.batches) == 3
    assert sum(len(batch) for batch in policy.batches) == 14


def test_per_agent_policies_and_shared_objects():
    recording = Recording()
    runner = Runner(ULTIMATUM, {"proposer": "scripted", "responder": recording})
    episodes = runner.run(range(4))
    assert {agent for batch in recording.batches for agent in batch} == {"responder"}
    assert episodes[0].policies == {"proposer": "scripted", "responder": "recording"}
    self_play = Runner(ULTIMATUM, "random")
    assert self_play.policy_for("proposer") is self_play.policy_for("responder")
    with pytest.raises(ValueError, match="No policy for agent 'responder'"):
        Runner(ULTIMATUM, {"proposer": "random"}).policy_for("responder")


def test_records_carry_tokens_logprobs_rewards_and_feedback(tmp_path):
    out = tmp_path / "run.jsonl"
    result = simulate(ULTIMATUM, Recording(), episodes=3, out=out, histogram=False)
    stored = list(read_episodes(out))
    assert [e.to_json() for e in stored] == [e.to_json() for e in result.episodes]
    episode = stored[0]
    assert [t.agent for t in episode.turns] == ["proposer", "responder"]
    proposer, responder = episode.turns
    assert proposer.token_ids == [1, 2] and proposer.logprobs == [-0.5, -0.25]
    assert proposer.prompt_token_ids == [9]
    assert responder.reward_components == {"payoff": 0.5} and responder.reward == 0.5
    assert responder.feedback.startswith("Deal")
    assert episode.returns == {"proposer": 0.5, "responder": 0.5}
    assert episode.success == {"proposer": True, "responder": True}
    assert result.summary.tokens == 12
    assert result.histogram is None


def test_ctrl_c_keeps_every_finished_episode(tmp_path):
    out = tmp_path / "interrupted.jsonl"
    # One episode at a time, two calls per episode: the 7th call starts episode 4 and is interrupted.
    result = simulate(
        ULTIMATUM, Recording(interrupt_on_call=7), episodes=10, concurrency=1, out=out
    )
    assert result.interrupted
    assert len(result.episodes) == 3
    assert [e.seed for e in read_episodes(out)] == [0, 1, 2]
    assert not out.with_name(out.name + ".partial").exists()


def test_ctrl_c_while_an_episode_is_written_keeps_the_file_and_result_in_step(
    tmp_path, monkeypatch
):
    from envalign.training.episodes import Episode

    out = tmp_path / "interrupted.jsonl"
    to_json = Episode.to_json
    calls = []

    def interrupted_third(self):
        calls.append(self.seed)
        if len(calls) == 3:
            raise KeyboardInterrupt  # Ctrl-C while the third episode is serialised
        return to_json(self)

    monkeypatch.setattr(Episode, "to_json", interrupted_third)
    result = simulate(ULTIMATUM, "scripted", episodes=10, concurrency=1, out=out, histogram=False)
    monkeypatch.setattr(Episode, "to_json", to_json)
    assert result.interrupted
    written = [e.seed for e in read_episodes(out)]
    assert written == [e.seed for e in result.episodes] == [0, 1]


def test_histogram_png_is_written_next_to_the_output(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "runs" / "demo.jsonl"
    result = simulate(ULTIMATUM, "random", episodes=6, out=out)
    assert result.histogram == histogram_path(out) == tmp_path / "runs" / "demo.returns.png"
    assert result.histogram.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_named_llm_policies_get_the_runs_sampling_and_are_reproducible():
    pytest.importorskip("torch")
    sampling = SamplingParams(temperature=1.0, max_new_tokens=3, seed=11)
    runs = [
        simulate(ULTIMATUM, "tiny-random", episodes=3, sampling=sampling, histogram=False)
        for _ in range(2)
    ]
    turns = [[t for e in run.episodes for t in e.turns] for run in runs]
    assert all(0 < len(t.token_ids) <= 3 for t in turns[0])
    assert all(t.logprobs is not None and len(t.logprobs) == len(t.token_ids) for t in turns[0])
    assert [t.token_ids for t in turns[0]] == [t.token_ids for t in turns[1]]
    assert {t.finish_reason for t in turns[0]} <= {"stop", "length"}
    assert runs[0].summary.tokens == sum(len(t.token_ids) for t in turns[0])


def test_history_window_keeps_system_and_recent_exchanges():
    conversation = [{"role": "system", "content": "s"}]
    for i in range(4):
        conversation += [
            {"role": "user", "content": f"o{i}"},
            {"role": "assistant", "content": f"a{i}"},
        ]
    conversation.append({"role": "user", "content": "o4"})
    assert [m["content"] for m in prompt_window(conversation, 1)] == ["s", "o3", "a3", "o4"]
    assert prompt_window(conversation, 0)[1:] == [conversation[-1]]
    assert prompt_window(conversation, None) == conversation
    with pytest.raises(ValueError, match="history"):
        Runner(ULTIMATUM, "random", history=-1)


def test_progress_display_runs_and_reports_statistics():
    from envalign.training.rollout import progress_stats

    result = simulate(ULTIMATUM, "scripted", episodes=4, progress=True, histogram=False)
    assert len(result.episodes) == 4
    text = progress_stats(result.episodes, started=0.0)
    assert "proposer +0.500±0.000" in text and "success 100%" in text


def test_info_beyond_the_schema_is_kept_in_turn_extras():
    from envalign.training.episode_host import info_extras

    episode = Runner("envalign/SocialSandboxRuleJudge-v0", "random").run([0])[0]
    interactions = [t.extras["interaction"] for t in episode.turns if "interaction" in t.extras]
    assert interactions and all(i["agent"] in episode.agents for i in interactions)
    assert all("reward_components" not in t.extras for t in episode.turns)
    info = {"feedback": "", "acting": True, "phase": "draft", "tool": object()}
    assert info_extras(info) == {"phase": "draft"}  # schema keys and live objects stay out
