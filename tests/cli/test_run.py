"""``envalign run``: policies per agent, LLM sampling flags, outputs, errors."""

from __future__ import annotations

import importlib.util

import pytest

from envalign.cli import main
from envalign.cli.run import parse_policies
from envalign.envs.errors import ConfigError
from envalign.training.episodes import read_episodes


def test_run_writes_episodes_histogram_and_summary(tmp_path, capsys):
    out = tmp_path / "runs" / "u.jsonl"
    code = main(
        [
            "run",
            "envalign/Ultimatum-v0",
            "--policy",
            "scripted",
            "--episodes",
            "5",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    assert [e.seed for e in read_episodes(out)] == [0, 1, 2, 3, 4]
    printed = capsys.readouterr().out
    assert "5 episodes" in printed and "tokens generated 0" in printed
    if importlib.util.find_spec("matplotlib") is not None:
        assert (tmp_path / "runs" / "u.returns.png").is_file()


def test_per_agent_policies_are_recorded(tmp_path):
    out = tmp_path / "u.jsonl"
    args = ["run", "envalign/Ultimatum-v0", "--episodes", "2", "--out", str(out), "--no-histogram"]
    args += ["--policy", "proposer=scripted", "--policy", "responder=random"]
    assert main(args) == 0
    [first, _] = read_episodes(out)
    assert first.policies == {"proposer": "scripted", "responder": "random"}
    assert not (tmp_path / "u.returns.png").exists()


def test_llm_policy_with_sampling_flags(tmp_path, capsys):
    pytest.importorskip("torch")
    out = tmp_path / "llm.jsonl"
    args = ["run", "envalign/Ultimatum-v0", "--policy", "tiny-random", "--episodes", "2"]
    args += ["--max-new-tokens", "3", "--temperature", "0", "--history", "0", "--out", str(out)]
    assert main(args) == 0
    turns = [t for e in read_episodes(out) for t in e.turns]
    assert turns and all(len(t.token_ids) == 3 and len(t.logprobs) == 3 for t in turns)
    assert "tokens/s" in capsys.readouterr().out


def test_user_errors_exit_2_with_one_line(capsys):
    assert main(["run", "envalign/Ultimatum-v0", "--policy", "propser=scripted"]) == 2
    assert "Did you mean 'proposer'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "envalign/Ultimatum-v0", "--temperature", "-1"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit) as exit_info:  # argparse: the value is outside (0, 1]
        main(["run", "envalign/Ultimatum-v0", "--top-p", "0"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit):
        main(["run", "envalign/Ultimatum-v0", "--history", "-1"])


def test_parse_policies_defaults_the_rest_to_random():
    assert parse_policies(["agent_0=scripted"], ["agent_0", "agent_1"]) == {
        "agent_0": "scripted",
        "*": "random",
    }
    with pytest.raises(ConfigError):
        parse_policies(["nobody=random"], ["agent_0"])


def test_likelihood_action_selection_picks_valid_moves(tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "pd.jsonl"
    args = ["run", "envalign/PrisonersDilemma-v0", "--policy", "tiny-random", "--episodes", "2"]
    args += ["--env-arg", "rounds=2", "--max-new-tokens", "4", "--history", "0"]
    args += ["--action-selection", "likelihood", "--normalisation", "sum", "--out", str(out)]
    assert main(args) == 0
    turns = [t for e in read_episodes(out) for t in e.turns]
    moves = [t for t in turns if t.valid_actions]
    assert moves and all(t.finish_reason == "likelihood" for t in moves)
    assert all(t.action in t.valid_actions and t.token_ids for t in moves)
    messages = [t for t in turns if not t.valid_actions]
    assert messages and all(t.finish_reason in ("stop", "length") for t in messages)


def test_ctrl_c_exits_130_and_keeps_finished_episodes(tmp_path, monkeypatch, capsys):
    from envalign.agents.baselines import baseline_policy

    class InterruptAfterTwoEpisodes:
        name = "scripted"

        def __init__(self):
            self.inner = baseline_policy("envalign/Ultimatum-v0", "scripted")
            self.calls = 0

        def act(self, requests):
            self.calls += 1
            if self.calls == 5:  # two calls per episode, one episode in flight
                raise KeyboardInterrupt
            return self.inner.act(requests)

    policy = InterruptAfterTwoEpisodes()
    monkeypatch.setattr(
        "envalign.cli.run.load_policies", lambda names, env_id, args: dict.fromkeys(names, policy)
    )
    out = tmp_path / "cut.jsonl"
    args = ["run", "envalign/Ultimatum-v0", "--episodes", "9", "--concurrency", "1"]
    assert main([*args, "--out", str(out)]) == 130
    assert [e.seed for e in read_episodes(out)] == [0, 1]
    assert "2 finished episodes kept" in capsys.readouterr().err


@pytest.fixture(scope="session")
def ray_address():
    """A local Ray cluster with 2 CPUs that a second process can join (reused if running)."""
    ray = pytest.importorskip("ray", reason='ray is not installed: pip install "envalign[ray]"')
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    if started:
        ray.shutdown()


def test_run_on_ray_auto_writes_the_same_episodes(ray_address, tmp_path):
    import os
    import subprocess
    import sys

    common = ["run", "envalign/Ultimatum-v0", "--episodes", "6", "--no-histogram", "--quiet"]
    local_out, ray_out = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    assert main([*common, "--out", str(local_out)]) == 0
    environment = {**os.environ, "RAY_ADDRESS": ray_address}
    command = [sys.executable, "-m", "envalign", *common, "--out", str(ray_out)]
    result = subprocess.run(
        [*command, "--ray", "auto", "--workers", "2"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "6 episodes" in result.stdout

    def records(path):  # written as they finish: the order on Ray follows the workers
        return sorted(({**e.__dict__, "wall_time_s": 0} for e in read_episodes(path)), key=seed)

    def seed(record):
        return record["seed"]

    assert records(ray_out) == records(local_out)


def test_workers_must_be_positive(capsys):
    with pytest.raises(SystemExit):
        main(["run", "envalign/Ultimatum-v0", "--ray", "auto", "--workers", "0"])
    assert "--workers" in capsys.readouterr().err


def test_workers_without_ray_is_an_error_not_ignored(capsys):
    assert main(["run", "envalign/Ultimatum-v0", "--workers", "4", "--episodes", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("envalign: error: --workers") and "needs --ray" in err


def test_an_out_that_is_a_folder_fails_before_any_episode(tmp_path, capsys):
    code = main(
        ["run", "envalign/Ultimatum-v0", "--episodes", "1", "--quiet", "--out", str(tmp_path)]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("envalign: error: Cannot write episodes to") and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--episodes", "abc"], "--episodes: expected a whole number, got 'abc'"),
        (["--episodes", "0"], "--episodes: expected a whole number of at least 1, got 0"),
        (["--concurrency", "1.5"], "--concurrency: expected a whole number, got '1.5'"),
        (["--seed", "x"], "--seed: expected a whole number, got 'x'"),
        (["--temperature", "hot"], "--temperature: expected a number, got 'hot'"),
        (["--top-p", "2"], "--top-p: expected a number in (0, 1], got 2"),
        (["--history", "lots"], "--history: expected a whole number, got 'lots'"),
        (["--max-new-tokens", "-3"], "--max-new-tokens: expected a whole number of at least 1"),
    ],
)
def test_bad_flag_values_say_what_was_expected_without_internal_names(capsys, flags, expected):
    with pytest.raises(SystemExit) as caught:
        main(["run", "envalign/Ultimatum-v0", *flags])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "_positive" not in err and "invalid" not in err and "Traceback" not in err


def test_history_flag_sets_the_llm_policies_window():
    pytest.importorskip("torch")
    import argparse

    from envalign.cli.run import load_policies

    def args(history):
        return argparse.Namespace(
            temperature=0.0, top_p=1.0, max_new_tokens=2, stop=[], seed=0,
            action_selection=None, normalisation="token", history=history,
        )  # fmt: skip

    default = load_policies({"*": "tiny-random"}, "envalign/Ultimatum-v0", args(None))["*"]
    assert default.history == 4
    assert load_policies({"*": "tiny-random"}, "x", args(1))["*"].history == 1
    assert load_policies({"*": "tiny-random"}, "x", args("all"))["*"].history is None
