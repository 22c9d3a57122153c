import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

import envalign
from envalign.cli import main
from envalign.envs.social.negotiation import (
    INVALID_PENALTY,
    ITEMS,
    TOTAL_VALUE,
    Command,
    NegotiationEnv,
    parse_command,
    remainder,
    sample_game,
    value_of,
)

COUNTS = (2, 3, 1)


@st.composite
def proposals(draw):
    take = tuple(draw(st.integers(0, count)) for count in COUNTS)
    fields = [f"{name}={count}" for name, count in zip(ITEMS, take, strict=True)]
    order = draw(st.permutations(fields))
    separator = draw(st.sampled_from([" ", ", ", "  "]))
    keyword = draw(st.sampled_from(["PROPOSE", "propose", "Propose:", "  PROPOSE"]))
    return f"{keyword} {separator.join(order)}", take


@given(proposals())
def test_proposals_in_the_grammar_parse(case):
    text, take = case
    assert parse_command(text, COUNTS) == (Command("propose", take=take), "")


@given(st.integers(0, 2), st.integers(4, 50))
def test_proposals_over_the_pool_are_refused(books, hats):
    command, feedback = parse_command(f"PROPOSE books={books} hats={hats} balls=0", COUNTS)
    assert command is None and "there are 3" in feedback


@given(st.text(max_size=80))
def test_any_text_parses_or_gets_feedback(text):
    command, feedback = parse_command(text, COUNTS)
    assert (command is None) == bool(feedback)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("SAY I really need the hats", Command("say", text="I really need the hats")),
        ("accept", Command("accept")),
        ("Walk away", Command("walk")),
    ],
)
def test_other_commands_parse(text, expected):
    assert parse_command(text, COUNTS) == (expected, "")


@pytest.mark.parametrize(
    "text, hint",
    [
        ("I propose books=1", "does not start with a command"),
        ("PROPOSE books=1 hats=1", "lacks balls"),
        ("PROPOSE books=1 hats=1 balls=0 cars=1", "Unknown item"),
        ("SAY", "needs a message"),
    ],
)
def test_malformed_commands_get_specific_feedback(text, hint):
    command, feedback = parse_command(text, COUNTS)
    assert command is None and hint in feedback


@pytest.mark.parametrize("seed", range(30))
def test_sampled_games_follow_deal_or_no_deal(seed):
    counts, first, second = sample_game(random.Random(seed))
    assert 5 <= sum(counts) <= 7 and all(1 <= c <= 4 for c in counts)
    assert value_of(counts, first) == value_of(counts, second) == TOTAL_VALUE
    assert all(a or b for a, b in zip(first, second, strict=True))


def test_an_accepted_proposal_pays_each_side_its_own_value():
    env = NegotiationEnv()
    env.reset(seed=3)
    take = (env.counts[0], 0, env.counts[2])
    proposal = f"PROPOSE books={take[0]} hats=0 balls={take[2]}"
    _, _, _, _, infos = env.step({"agent_0": proposal, "agent_1": ""})
    assert infos["agent_1"]["acting"] and "ACCEPT" in infos["agent_1"]["valid_actions"]
    _, rewards, terminations, _, infos = env.step({"agent_0": "", "agent_1": "ACCEPT"})
    expected_0 = value_of(take, env.values["agent_0"]) / TOTAL_VALUE
    expected_1 = value_of(remainder(env.counts, take), env.values["agent_1"]) / TOTAL_VALUE
    assert rewards == {"agent_0": pytest.approx(expected_0), "agent_1": pytest.approx(expected_1)}
    assert all(terminations.values()) and infos["agent_0"]["metrics"]["success"] is True


def test_accept_without_a_proposal_is_invalid_and_the_agent_moves_again():
    env = NegotiationEnv()
    env.reset(seed=0)
    _, rewards, _, _, infos = env.step({"agent_0": "ACCEPT", "agent_1": ""})
    assert rewards["agent_0"] == INVALID_PENALTY
    assert "no proposal" in infos["agent_0"]["feedback"]
    assert infos["agent_0"]["acting"] and not infos["agent_1"]["acting"]


def test_the_turn_limit_ends_without_a_deal():
    env = NegotiationEnv(max_turns=2)
    env.reset(seed=0)
    env.step({"agent_0": "SAY hello", "agent_1": ""})
    _, rewards, terminations, truncations, infos = env.step({"agent_0": "", "agent_1": "SAY hi"})
    assert rewards == {"agent_0": 0.0, "agent_1": 0.0}
    assert all(truncations.values()) and not any(terminations.values())
    assert infos["agent_0"]["metrics"]["success"] is False and env.agents == []


def test_walking_away_ends_with_nothing():
    env = NegotiationEnv()
    env.reset(seed=0)
    _, rewards, terminations, _, _ = env.step({"agent_0": "WALK AWAY", "agent_1": ""})
    assert rewards == {"agent_0": 0.0, "agent_1": 0.0} and all(terminations.values())


def test_messages_reach_the_other_agent_and_values_stay_private():
    env = NegotiationEnv()
    observations, _ = env.reset(seed=5)
    own = ", ".join(f"{n} {v} each" for n, v in zip(ITEMS, env.values["agent_1"], strict=True))
    assert own in observations["agent_1"]["text"]
    observations, *_ = env.step({"agent_0": "SAY the balls matter to me", "agent_1": ""})
    assert "agent_0: SAY the balls matter to me" in observations["agent_1"]["text"]


def test_fair_negotiators_mostly_agree_and_greedy_ones_mostly_do_not():
    fair = envalign.simulate("envalign/Negotiation-v0", "fair", episodes=50).episodes
    greedy = envalign.simulate("envalign/Negotiation-v0", "greedy", episodes=50).episodes
    assert sum(e.success["agent_0"] for e in fair) == 44
    assert sum(e.success["agent_0"] for e in greedy) == 16


def test_cli_runs_mixed_policies(capsys, tmp_path):
    out = tmp_path / "negotiation.jsonl"
    code = main(
        [
            "run",
            "envalign/Negotiation-v0",
            "--policy",
            "agent_0=scripted",
            "--policy",
            "agent_1=random",
            "--episodes",
            "5",
            "--quiet",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    assert len(out.read_text().splitlines()) == 5
    assert "agent_0" in capsys.readouterr().out
