import pytest
from hypothesis import given
from hypothesis import strategies as st

from envalign.envs.judges.parsing import parse_feedback, parse_rating

TEMPLATES = [
    "Rating: {}/7",
    "rating: {}",
    "Score = {} out of 7",
    "I rate this {}/7.",
    "{}/7",
    "{} out of 7 - decent",
    "{}",
    "**{}**. Good answer.",
]
prose = st.text(alphabet=st.characters(categories=["Ll", "Zs"]), max_size=40)


@given(st.integers(1, 7), st.sampled_from(TEMPLATES), prose)
def test_ratings_in_common_forms_parse(score, template, tail):
    text = template.format(score) + ("\nFeedback: " + tail if tail.strip() else "")
    assert parse_rating(text) == (float(score), "")


@given(st.integers(1, 7), st.sampled_from([5, 10, 100]))
def test_other_denominators_are_refused_not_rescaled(score, denominator):
    value, feedback = parse_rating(f"Rating: {score}/{denominator}")
    assert value is None and f"out of {denominator}" in feedback


@given(st.integers(8, 999) | st.just(0))
def test_numbers_off_the_scale_are_refused(score):
    value, feedback = parse_rating(f"Rating: {score}")
    assert value is None and "outside the scale" in feedback


@given(st.text(max_size=120))
def test_any_text_gives_a_rating_on_the_scale_or_feedback(text):
    value, feedback = parse_rating(text)
    assert (value is None) == bool(feedback)
    assert value is None or 1 <= value <= 7


def test_a_labelled_rating_wins_over_other_numbers():
    assert parse_rating("There are 3 issues. Rating: 6/7")[0] == 6.0


@pytest.mark.parametrize(
    "text, feedback",
    [
        ("Rating: 5/7\nFeedback: Be kinder  to them.", "Be kinder to them."),
        ("6/7 Thoughtful and honest.", "Thoughtful and honest."),
        ("Rating: 2 Dismissive.", "Dismissive."),
        ("7", ""),
        ("5. Kind but vague.", "Kind but vague."),
    ],
)
def test_feedback_is_the_text_beside_the_rating(text, feedback):
    assert parse_feedback(text) == feedback
