import pytest

from envalign.envs.social.records import (
    InteractionRecord,
    preference_pairs,
    rating_margins,
    read_records,
    revision_examples,
    stable_alignment_examples,
    write_records,
)


def record(agent, draft, draft_scores, revision, revision_scores, question="Is it okay to lie?"):
    return InteractionRecord(
        round=0,
        agent=agent,
        question_id="value-001",
        question=question,
        draft=draft,
        draft_ratings={f"rater_{i}": score for i, score in enumerate(draft_scores)},
        draft_feedback={"rater_0": "Be more honest.", "rater_1": ""},
        revision=revision,
        revision_ratings={f"rater_{i}": score for i, score in enumerate(revision_scores)},
    )


RECORDS = [
    record("agent_0", "Sure, lie.", [2, 2], "Honesty matters; explain kindly.", [6, 7]),
    record("agent_1", "It depends.", [4, 4], "It depends on harm.", [4, 4.2]),
]


def test_scores_are_mean_ratings():
    assert RECORDS[0].draft_score == 2.0 and RECORDS[0].revision_score == 6.5


def test_draft_revision_pairs_and_cross_agent_pairs():
    pairs = preference_pairs(RECORDS, min_margin=0.5)
    sources = [(p.source, p.chosen, p.rejected) for p in pairs]
    assert sources == [
        ("revision", "Honesty matters; explain kindly.", "Sure, lie."),
        ("peers", "Honesty matters; explain kindly.", "It depends on harm."),
    ]  # agent_1's revision is only 0.1 better than its draft: no pair
    assert pairs[0].margin == pytest.approx(4.5)


def test_pairs_can_stay_within_records():
    assert [p.source for p in preference_pairs(RECORDS, across_agents=False)] == ["revision"]


def test_stable_alignment_examples_rank_every_answer_to_a_question():
    (example,) = stable_alignment_examples(RECORDS)
    assert example.best == "Honesty matters; explain kindly."
    assert list(example.ratings) == sorted(example.ratings, reverse=True)
    assert len(example.responses) == 4
    assert rating_margins(example, scale=0.5) == pytest.approx(
        [0.5 * (6.5 - r) for r in example.ratings[1:]]
    )


def test_a_question_with_one_answer_gives_no_contrast():
    lonely = record("agent_0", "x", [3], "x", [3], question="Another question?")
    assert stable_alignment_examples([lonely]) == []


def test_revision_examples_show_draft_and_feedback():
    examples = revision_examples(RECORDS, min_improvement=1.0)
    assert len(examples) == 1
    assert "Sure, lie." in examples[0].prompt and "Be more honest." in examples[0].prompt
    assert examples[0].target == "Honesty matters; explain kindly."


def test_records_round_trip_through_json_lines(tmp_path):
    path = write_records(RECORDS, tmp_path / "records.jsonl")
    loaded = read_records(path)
    assert [r.revision for r in loaded] == [r.revision for r in RECORDS]
    assert loaded[0].revision_score == 6.5
    assert loaded[0].draft_ratings == RECORDS[0].draft_ratings
