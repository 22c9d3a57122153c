import pytest
from hypothesis import given
from hypothesis import strategies as st

import envalign
from envalign.envs.reasoning.arithmetic import ArithmeticEnv, first_number


@given(
    st.integers(-(10**12), 10**12),
    st.text(alphabet=st.characters(categories=["L", "Zs", "P"]), max_size=30),
)
def test_first_number_reads_the_number_after_any_words(value, words):
    assert first_number(f"{words} {value} and 7") == value


@given(st.text(alphabet=st.characters(categories=["L", "Zs", "P"], exclude_characters="-−")))
def test_first_number_is_none_without_digits(text):
    assert first_number(text) is None


@pytest.mark.parametrize(
    "reply, expected",
    [("8", 8), ("The answer is 8.", 8), ("8.0", 8.0), ("−7 degrees", -7), ("-3 then 4", -3)],
)
def test_first_number_examples(reply, expected):
    assert first_number(reply) == expected


def play(reply, seed=0, **kwargs):
    env = ArithmeticEnv(**kwargs)
    observation, _ = env.reset(seed=seed)
    return observation, env.answer, env.step(reply)


def test_right_answer_scores_one_and_ends():
    observation, answer, (_, reward, terminated, truncated, info) = play("", low=4, high=4)
    assert observation == "What is 4 + 4?" and answer == 8
    _, _, (_, reward, terminated, truncated, info) = play("It is 8, obviously", low=4, high=4)
    assert (reward, terminated, truncated) == (1.0, True, False)
    assert info["metrics"]["success"] is True and info["feedback"] == "Correct."


def test_wrong_or_missing_answer_scores_zero_with_feedback():
    _, _, (_, reward, _, _, info) = play("9", low=4, high=4)
    assert reward == 0.0 and "the answer was 8" in info["feedback"]
    _, _, (_, reward, _, _, info) = play("no idea", low=4, high=4)
    assert reward == 0.0 and "No number" in info["feedback"]
    _, _, (_, reward, _, _, info) = play("8" * 5000, low=4, high=4)
    assert reward == 0.0 and "limit" in info["feedback"]


def test_operand_range_and_operations_are_honoured():
    env = ArithmeticEnv(low=10, high=12, operations="-*")
    seen = set()
    for seed in range(40):
        env.reset(seed=seed)
        a, symbol, b = env.question.removeprefix("What is ").rstrip("?").split()
        assert 10 <= int(a) <= 12 and 10 <= int(b) <= 12
        seen.add(symbol)
    assert seen == {"-", "*"}


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="low"):
        ArithmeticEnv(low=5, high=1)
    with pytest.raises(ValueError, match="operations"):
        ArithmeticEnv(operations="/")


def test_scripted_policy_solves_and_random_mostly_fails():
    scripted = envalign.simulate("envalign/Arithmetic-v0", "scripted", episodes=30)
    assert scripted.summary.success_rate == 1.0
    random = envalign.simulate("envalign/Arithmetic-v0", "random", episodes=200)
    assert random.summary.success_rate < 0.3


def test_ansi_render_shows_the_exchange():
    env = ArithmeticEnv(render_mode="ansi", low=1, high=1)
    env.reset(seed=0)
    env.step("2")
    assert "Q: What is 1 + 1?" in env.render() and "Correct." in env.render()
