"""envalign eval end to end: cross-environment batching, failures, resume, baselines, the CLI."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence

import pytest

from envalign.agents.base import Generation, TurnRequest
from envalign.agents.baselines import baseline_policy
from envalign.agents.registry import resolve_policy
from envalign.cli import main
from envalign.envs.errors import ConfigError
from envalign.envs.registry import make
from envalign.training.episodes import read_episodes
from envalign.training.eval.evaluate import evaluate
from envalign.training.eval.results import load_result
from envalign.training.eval.runner import PROGRESS_FILE
from envalign.training.eval.suite import Acting, load_suite

CORE = load_suite("core-v1")
#: Entries that need no Docker engine: the fast part of the suite.
LOCAL = [
    entry.id
    for entry in CORE.entries
    if not entry.card.needs_docker and entry.seeds("quick", CORE.tiers)
]
SOCIAL = ["ultimatum-proposer", "dilemma-panel", "arithmetic", "household"]


class Scripted:
    """Each environment's scripted baseline behind one object, recording every batch."""

    name = "recorded-scripted"

    def __init__(self, fail_from_call: int | None = None) -> None:
        self.batches: list[list[str]] = []
        self.fail_from_call = fail_from_call

    def act(self, requests: Sequence[TurnRequest]) -> list[Generation]:
        env_ids = [_env_id(request) for request in requests]
        self.batches.append(env_ids)
        if self.fail_from_call is not None and len(self.batches) >= self.fail_from_call:
            raise RuntimeError("model server went away")
        return [
            baseline_policy(env_id, "scripted").act([request])[0]
            for env_id, request in zip(env_ids, requests, strict=True)
        ]


@functools.cache
def _ids_by_class() -> dict[type, str]:
    ids = {}
    for entry in CORE.entries:
        env = make(entry.env, **entry.kwargs)
        ids[type(env.unwrapped)] = entry.env
        env.close()
    return ids


def _env_id(request: TurnRequest) -> str:
    return _ids_by_class()[type(request.context.env)]


def test_entries_of_different_environments_share_one_generation_batch():
    policy = Scripted()
    result = evaluate(policy, tier="quick", only=SOCIAL, scorecard=False)
    mixed = [batch for batch in policy.batches if len(set(batch)) > 1]
    assert mixed, "no batch held turns of two environments"
    assert len(set(policy.batches[0])) == len(SOCIAL)
    assert all(entry.summary["failed"] == 0 for entry in result.entries)


def test_concurrent_and_sequential_runs_give_the_same_episodes(tmp_path):
    model = resolve_policy("tiny-random", "envalign/Arithmetic-v0")
    short = CORE.model_copy(update={"acting": Acting(max_new_tokens=6, history=0)})
    only = ["arithmetic", "ultimatum-proposer", "deliberation"]
    together = evaluate(model, short, only=only, out=tmp_path / "a", scorecard=False)
    apart = evaluate(model, short, only=only, out=tmp_path / "b", scorecard=False, sequential=True)

    def actions(folder):
        episodes = read_episodes(folder / "episodes.jsonl")
        return [(e.env_id, e.seed, [t.action for t in e.turns]) for e in episodes]

    assert actions(tmp_path / "a") == actions(tmp_path / "b")
    assert [e.summary for e in together.entries] == [e.summary for e in apart.entries]


def test_an_entry_the_tier_does_not_play_is_left_out():
    result = evaluate("random", only=["coop-kitchen", "arithmetic"], scorecard=False)
    assert [entry.id for entry in result.entries] == ["arithmetic"]
    full = evaluate("random", tier="full", only=["coop-kitchen"], scorecard=False)
    assert full.entry("coop-kitchen").summary["episodes"] == 32


def test_episodes_are_truncated_at_the_entrys_max_steps():
    result = evaluate("random", only=["babyai-gotolocal"], scorecard=False)
    assert max(episode.steps for episode in result.entry("babyai-gotolocal").episodes) == 20


def test_a_failing_policy_fails_its_episodes_and_the_rest_is_scored():
    policy = Scripted(fail_from_call=2)  # arithmetic ends on the first call, household goes on
    result = evaluate(policy, only=["household", "arithmetic"], scorecard=False)
    household, arithmetic = result.entry("household"), result.entry("arithmetic")
    assert (
        household.summary["failed"] == household.summary["episodes"] == len(household.episodes) > 0
    )
    assert all("model server went away" in e.error for e in household.episodes)
    assert household.summary["mean_return"] is None
    assert "household" in result.aggregate["excluded"]
    assert arithmetic.summary["failed"] == 0 and arithmetic.summary["mean_return"] == 1.0


def test_the_random_and_scripted_baselines_score_0_and_100_on_every_entry():
    for name, expected in (("random", 0.0), ("scripted", 100.0)):
        result = evaluate(name, only=LOCAL, scorecard=False)
        for entry in result.entries:
            assert entry.summary["normalised"] == pytest.approx(expected, abs=1e-6), entry.id
        assert result.aggregate["overall"]["score"] == pytest.approx(expected, abs=1e-6)


def test_compare_separates_random_from_scripted_on_every_entry_of_the_quick_tier():
    from envalign.training.eval.compare import compare

    low = evaluate("random", only=LOCAL, scorecard=False)
    high = evaluate("scripted", only=LOCAL, scorecard=False)
    verdicts = {entry["id"]: entry["verdict"] for entry in compare(low, high).to_dict()["entries"]}
    assert verdicts == dict.fromkeys(LOCAL, "better")
    same = {entry["verdict"] for entry in compare(high, high).to_dict()["entries"]}
    assert same == {"not separable"}


def test_an_interrupted_evaluation_resumes_where_it_stopped(tmp_path):
    out = tmp_path / "run"
    seen = []

    def stop_after_five(played):
        seen.append(played.key)
        if len(seen) == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        evaluate("random", only=SOCIAL, out=out, on_episode=stop_after_five)
    assert len((out / PROGRESS_FILE).read_text().splitlines()) == 5
    replayed = []
    resumed = evaluate("random", only=SOCIAL, out=out, on_episode=lambda p: replayed.append(p.key))
    assert not set(replayed) & set(seen), "finished episodes were played again"
    whole = evaluate("random", only=SOCIAL, out=tmp_path / "whole")
    assert [e.summary for e in resumed.entries] == [e.summary for e in whole.entries]
    assert sum(1 for _ in read_episodes(out / "episodes.jsonl")) == sum(
        e.summary["episodes"] for e in whole.entries
    )


def test_resuming_after_an_entry_changed_is_refused(tmp_path):
    out = tmp_path / "run"
    evaluate("random", only=["arithmetic"], out=out)
    lines = (out / PROGRESS_FILE).read_text().splitlines()
    record = json.loads(lines[0])
    record["hash"] = "0" * 16
    (out / PROGRESS_FILE).write_text(json.dumps(record) + "\n")
    with pytest.raises(ConfigError, match="Entry 'arithmetic' changed"):
        evaluate("random", only=["arithmetic"], out=out)


def test_a_truncated_progress_line_from_a_hard_kill_is_ignored(tmp_path):
    out = tmp_path / "run"
    evaluate("random", only=["arithmetic"], out=out)
    lines = (out / PROGRESS_FILE).read_text().splitlines(keepends=True)
    (out / PROGRESS_FILE).write_text("".join(lines[:2]) + lines[2][:30])
    replayed = []
    evaluate("random", only=["arithmetic"], out=out, on_episode=lambda p: replayed.append(p.seed))
    assert len(replayed) == len(lines) - 2


def test_cli_eval_writes_every_output_and_compare_gives_verdicts(tmp_path, capsys):
    only = ["--only", "arithmetic", "ultimatum-proposer", "dilemma-panel"]
    for name in ("random", "scripted"):
        assert main(["eval", name, "--quiet", "--out", str(tmp_path / name), *only]) == 0
    for output in ("results.json", "episodes.jsonl", "episodes.html", "scorecard.html"):
        assert (tmp_path / "random" / output).is_file()
    text = capsys.readouterr().out
    assert "arithmetic" in text and "overall" in text
    assert main(["eval", "compare", str(tmp_path / "random"), str(tmp_path / "random")]) == 0
    same = capsys.readouterr().out
    assert "not separable" in same and "better" not in same.split("\n")[-3:]
    report = tmp_path / "c.json"
    assert (
        main(
            [
                "eval",
                "compare",
                str(tmp_path / "random"),
                str(tmp_path / "scripted"),
                "--json",
                str(report),
            ]
        )
        == 0
    )
    verdicts = {e["id"]: e["verdict"] for e in json.loads(report.read_text())["entries"]}
    assert set(verdicts) == {"arithmetic", "ultimatum-proposer", "dilemma-panel"}
    assert verdicts["arithmetic"] == "better"


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["eval", "random", "--only", "arithmetc", "--out", str(tmp_path / "x")]) == 2
    assert "Did you mean 'arithmetic'" in capsys.readouterr().err
    assert main(["eval", "compare", str(tmp_path / "nothing")]) == 2
    assert "two result" in capsys.readouterr().err
    assert main(["eval", "compare", str(tmp_path / "a"), str(tmp_path / "b")]) == 2
    assert "No evaluation result" in capsys.readouterr().err


def test_results_json_round_trips(tmp_path):
    evaluate("random", only=["arithmetic", "dilemma-panel"], out=tmp_path)
    result = load_result(tmp_path)
    assert result.suite == "core-v1" and result.tier == "quick"
    entry = result.entry("dilemma-panel")
    assert {e.opponent for e in entry.episodes} == {"tit-for-tat", "always-defect", "random"}
    assert all("cooperation_rate" in e.metrics for e in entry.episodes)
    assert entry.alignment_metrics["cooperation_rate"] == "higher"


@pytest.mark.docker
def test_tool_entries_run_in_the_docker_sandbox_and_the_oracle_scores_100():
    tools = [entry.id for entry in CORE.entries if entry.card.needs_docker]
    result = evaluate("scripted", only=tools, scorecard=False)
    for entry in result.entries:
        assert entry.unavailable is None
        assert entry.summary["failed"] == 0, entry.episodes
        assert entry.summary["normalised"] == pytest.approx(100.0), entry.id
    from envalign.training.eval.compare import compare

    low = evaluate("random", only=tools, scorecard=False)
    verdicts = {
        entry["id"]: entry["verdict"] for entry in compare(low, result).to_dict()["entries"]
    }
    assert verdicts == dict.fromkeys(tools, "better")


def test_a_langchain_chat_model_is_a_policy_spec(tmp_path, monkeypatch):
    (tmp_path / "my_chat_models.py").write_text(
        "from langchain_core.language_models.fake_chat_models import FakeListChatModel\n"
        "def always_eight():\n"
        "    return FakeListChatModel(responses=['8'] * 100)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    result = evaluate("langchain:my_chat_models:always_eight", only=["arithmetic"], scorecard=False)
    assert result.policy == "langchain:my_chat_models:always_eight"
    entry = result.entry("arithmetic")
    assert entry.summary["failed"] == 0 and entry.summary["scored"] == len(entry.episodes)
    with pytest.raises(ConfigError, match="Cannot import LangChain model"):
        evaluate("langchain:no_such_module:x", only=["arithmetic"], scorecard=False)


def test_models_are_evaluated_in_the_dtype_asked_for_and_it_is_recorded(tmp_path):
    import torch

    from envalign.training.eval.runner import eval_dtype

    assert eval_dtype("float32") == "float32"
    assert eval_dtype("auto") in ("bfloat16", "float32")
    args = ["eval", "tiny-random", "--only", "arithmetic", "--quiet", "--dtype", "bfloat16"]
    assert main([*args, "--out", str(tmp_path / "bf16")]) == 0
    assert load_result(tmp_path / "bf16").settings["dtype"] == "bfloat16"
    policy = resolve_policy("tiny-random", "envalign/Arithmetic-v0")
    evaluate(policy, only=["arithmetic"], scorecard=False, policy_options={"dtype": "bfloat16"})
    assert next(policy.model.parameters()).dtype == torch.float32, "a policy object keeps its dtype"
