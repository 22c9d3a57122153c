import dataclasses

import pytest

from envalign.envs.tools.sql_env import (
    GoldQueryFailed,
    QueryResult,
    SqlEnv,
    format_result,
    gold_result,
    random_policy,
    result_score,
    schema_script,
    scripted_policy,
    sql_questions,
)


def result(*rows, columns=("a",), error=""):
    return QueryResult(list(columns), [list(r) for r in rows], error=error)


def test_question_bank_spans_three_schemas_with_fifty_questions():
    questions = sql_questions()
    assert len(questions) >= 50
    assert len({q.schema for q in questions}) >= 3
    assert len({q.id for q in questions}) == len(questions)
    assert all("ORDER BY" in q.gold.upper() for q in questions if q.ordered)
    for schema in {q.schema for q in questions}:
        assert "CREATE TABLE" in schema_script(schema)


def test_equal_sets_match_in_any_order_unless_ordered():
    gold = result((1,), (2,))
    assert result_score(result((2,), (1,)), gold, ordered=False)["result_match"] == 1.0
    wrong_order = result_score(result((2,), (1,)), gold, ordered=True)
    assert wrong_order["result_match"] == 0.0 and wrong_order["row_overlap"] == pytest.approx(0.5)


def test_partial_credit_is_half_the_row_f1_and_errors_score_zero():
    gold = result((1,), (2,), (3,), (4,))
    assert result_score(result((1,), (2,)), gold, False) == {
        "result_match": 0.0,
        "row_overlap": pytest.approx(0.5 * 2 * 2 / 6),
    }
    assert sum(result_score(result(error="boom"), gold, False).values()) == 0.0
    assert sum(result_score(result((9,)), gold, False).values()) == 0.0


def test_floats_compare_to_six_decimals_and_duplicates_count():
    assert result_score(result((0.1 + 0.2,)), result((0.3,)), False)["result_match"] == 1.0
    assert result_score(result((1,), (1,)), result((1,)), False)["result_match"] == 0.0


def test_format_result_truncates_and_shows_nulls():
    text = format_result(QueryResult(["x"], [[None]] + [[i] for i in range(30)]))
    assert "NULL" in text and "more rows not shown" in text
    wide = format_result(QueryResult(["x"], [["y" * 5000]] * 25))
    assert len(wide) < 5000


@pytest.fixture(scope="module")
def env(docker_box):
    environment = SqlEnv(sandbox=docker_box)
    yield environment
    environment.close()


@pytest.mark.docker
@pytest.mark.parametrize("question_id", [q.id for q in sql_questions()])
def test_oracle_scores_one_on_every_question(env, play, question_id):
    reward, steps, info, _ = play(env, scripted_policy, options={"question_id": question_id})
    assert reward == 1.0 and steps == 1, info["feedback"]


@pytest.mark.docker
def test_gold_queries_return_rows(env):
    for question in sql_questions():
        env.reset(seed=0, options={"question_id": question.id})
        (gold,) = env.run_queries([question.gold])
        assert not gold.error and gold.rows, question.id


@pytest.mark.docker
def test_exploration_shows_results_and_errors_and_the_database_is_read_only(env):
    env.reset(seed=0, options={"question_id": "shop/1"})
    observation, reward, terminated, truncated, info = env.step(
        "SELECT name FROM customers ORDER BY id LIMIT 2"
    )
    assert "Acme Labs" in observation and reward == 0.0 and not terminated
    _, _, _, _, info = env.step("DELETE FROM customers")
    assert "readonly" in info["feedback"]
    _, _, _, _, info = env.step("SELECT COUNT(*) FROM customers")
    assert "7" in info["feedback"]
    _, _, _, _, info = env.step("SELEC oops")
    assert "syntax error" in info["feedback"]


@pytest.mark.docker
def test_runaway_queries_are_stopped(env):
    env.reset(seed=0, options={"question_id": "shop/1"})
    query = "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT COUNT(*) FROM r"
    _, reward, _, _, info = env.step(query)
    assert "too long" in info["feedback"] or "interrupted" in info["feedback"]


@pytest.mark.docker
def test_wrong_submission_gets_partial_credit_and_ends(env):
    env.reset(seed=0, options={"question_id": "shop/6"})  # gold tier customers: 2 rows
    _, reward, terminated, _, info = env.step(
        "submit SELECT name FROM customers WHERE tier != 'basic'"
    )
    assert terminated and 0 < reward < 1
    assert info["reward_components"]["result_match"] == 0.0


@pytest.mark.docker
def test_turn_limit_truncates(docker_box):
    env = SqlEnv(sandbox=docker_box, max_turns=2)
    env.reset(seed=0)
    assert env.step("SELECT 1")[3] is False
    _, _, terminated, truncated, _ = env.step("SELECT 1")
    assert truncated and not terminated


@pytest.mark.docker
def test_random_policy_stays_near_zero(env, play):
    rewards = [play(env, random_policy, seed=s)[0] for s in range(8)]
    assert sum(rewards) / len(rewards) < 0.1


# ---------------------------------------------------------------------- red team (issue 22)


def test_a_failed_gold_query_is_an_environment_error_never_a_match():
    with pytest.raises(GoldQueryFailed, match="gold query failed"):
        result_score(result(), result(error="OperationalError: readonly"), False)
    broken = dataclasses.replace(sql_questions()[0], id="broken/1", gold="SELECT * FROM nowhere")
    with pytest.raises(GoldQueryFailed, match="broken/1"):
        gold_result(broken, 100)


def test_gold_results_come_from_a_copy_outside_the_sandbox():
    for question in sql_questions():
        gold = gold_result(question, 1_000)
        assert not gold.error and gold.rows, question.id


# The attack: a read-only connection still allowed VACUUM INTO, which wrote a file that
# SQLite took for a hot journal, so the gold query failed and its empty result matched.
VACUUM_HACKS = (
    "VACUUM INTO 'task.db-journal'",
    "VACUUM INTO '/work/task.db-journal'",
    "ATTACH 'task.db-journal' AS j",
    "ATTACH 'evil.db' AS evil",
    "PRAGMA user_version = 7",
    "PRAGMA journal_mode = OFF",
    "PRAGMA writable_schema = ON",
)


@pytest.mark.docker
@pytest.mark.parametrize("question_id", [q.id for q in sql_questions()])
def test_the_vacuum_into_submission_scores_zero_on_every_question(env, question_id):
    env.reset(seed=0, options={"question_id": question_id})
    _, reward, terminated, _, info = env.step("submit VACUUM INTO 'task.db-journal'")
    assert terminated and reward == 0.0, info["feedback"]


@pytest.mark.docker
@pytest.mark.parametrize("hack", VACUUM_HACKS)
def test_writes_attachments_and_pragmas_are_refused_and_do_not_change_grading(env, hack):
    env.reset(seed=0, options={"question_id": "library/1"})
    _, reward, _, _, info = env.step(hack)
    assert reward == 0.0 and "Error" in info["feedback"], info["feedback"]
    listing = env.sessions.lease.run("ls -a /work", language="bash").stdout.split()
    assert listing and set(listing) <= {".", "..", "task.db"}, listing
    _, reward, terminated, _, info = env.step(f"submit {env.question.gold}")
    assert terminated and reward == 1.0, info["feedback"]
    env.reset(seed=0, options={"question_id": "library/1"})
    env.step(hack)
    _, reward, _, _, _ = env.step(f"submit {hack}")
    assert reward == 0.0


@pytest.mark.docker
def test_an_erroring_submission_scores_zero(env):
    env.reset(seed=0, options={"question_id": "shop/1"})
    _, reward, terminated, _, info = env.step("submit SELECT * FROM no_such_table")
    assert terminated and reward == 0.0 and "failed" in info["feedback"]
