"""SQL-v0: answer questions about a SQLite database by running queries (InterCode-SQL style)."""

from __future__ import annotations

import functools
import json
import math
import re
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from typing import Any

from envalign.envs.core import ActContext, TextEnv, read_action
from envalign.envs.errors import EnvalignError
from envalign.envs.info import step_info
from envalign.envs.tools.code_extract import extract_code
from envalign.envs.tools.sessions import LeaseHolder
from envalign.envs.tools.task_ids import pick_by_id

DATABASE = "task.db"
SHOWN_ROWS = 20
SHOWN_CELL = 200
SUBMIT = re.compile(r"^\s*submit\b[:\s]*", re.IGNORECASE)

# Runs in the sandbox: build the database from the schema script (``task.db`` once per episode for
# exploration, or a fresh copy for a submitted query, so nothing earlier queries did to the files
# can change its result), then run each query on a read-only connection whose authorizer also
# refuses ATTACH (which ``VACUUM INTO`` uses to write files) and PRAGMA writes.
RUNNER = r"""
import json, os, sqlite3, sys, time
request = json.loads(sys.stdin.read())
path = "task.db"
if request["fresh"]:
    path = "/tmp/.envalign-submitted-%d.db" % os.getpid()
if request["fresh"] or not os.path.exists(path):
    build = sqlite3.connect(path)
    build.executescript(request["schema"])
    build.commit()
    build.close()
READ_PRAGMAS = {"table_info", "table_xinfo", "table_list", "index_list", "index_info",
                "index_xinfo", "foreign_key_list"}
def authorize(action, first, second, database, trigger):
    if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_PRAGMA and second is not None and first not in READ_PRAGMAS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK
answers = []
for query in request["queries"]:
    connection = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    connection.set_authorizer(authorize)
    deadline = time.monotonic() + request["timeout"]
    connection.set_progress_handler(lambda: time.monotonic() > deadline, 10000)
    try:
        cursor = connection.execute(query)
        rows = cursor.fetchmany(request["max_rows"] + 1)
        columns = [d[0] for d in cursor.description or []]
        encoded = [[v.hex() if isinstance(v, bytes) else v for v in row] for row in rows]
        answers.append({"columns": columns, "rows": encoded[: request["max_rows"]],
                        "more": len(rows) > request["max_rows"], "error": ""})
    except Exception as error:
        message = "query took too long" if time.monotonic() > deadline else str(error)
        answers.append({"columns": [], "rows": [], "more": False,
                        "error": type(error).__name__ + ": " + message})
    finally:
        connection.close()
print(json.dumps(answers))
"""


class GoldQueryFailed(EnvalignError, RuntimeError):
    """A question's gold query failed: the environment's data is broken, not the agent's answer."""


@dataclass(frozen=True)
class SqlQuestion:
    """One question: its schema, the gold query, and whether row order matters."""

    id: str
    schema: str
    question: str
    gold: str
    ordered: bool


@dataclass
class QueryResult:
    """Rows a query returned (at most ``max_rows``), or the error it raised."""

    columns: list[str]
    rows: list[list[Any]]
    more: bool = False
    error: str = ""


@functools.cache
def sql_questions() -> tuple[SqlQuestion, ...]:
    """The questions shipped in ``data/sql_questions.json``."""
    text = resources.files("envalign.envs.tools").joinpath("data/sql_questions.json").read_text()
    return tuple(SqlQuestion(**entry) for entry in json.loads(text))


@functools.cache
def schema_script(name: str) -> str:
    """The SQL script that builds the database ``name``."""
    return resources.files("envalign.envs.tools").joinpath(f"data/sql/{name}.sql").read_text()


def schema_summary(script: str) -> str:
    """The ``CREATE TABLE`` statements of a script (what the agent is shown)."""
    return "\n".join(re.findall(r"CREATE TABLE.*?\);", script, re.DOTALL))


def result_score(got: QueryResult, gold: QueryResult, ordered: bool) -> dict[str, float]:
    """Score a submitted query's result against the gold result.

    Returns:
        Reward components: ``result_match`` 1.0 when the result sets are equal (as lists when
        ``ordered``, else as multisets of rows; column names are ignored). Otherwise partial
        credit ``row_overlap``: 0.5 x F1 of the row multisets (rows compared whole, so a result
        with the right rows in the wrong order, or a superset, earns part). A failed query
        scores 0.

    Raises:
        GoldQueryFailed: If ``gold`` is an error: an empty gold result from a failed query must
            never match anything.
    """
    if gold.error:
        raise GoldQueryFailed(
            f"The gold query failed ({gold.error}); the question's data is broken."
        )
    zero = {"result_match": 0.0, "row_overlap": 0.0}
    if got.error:
        return zero
    mine, theirs = [_row_key(r) for r in got.rows], [_row_key(r) for r in gold.rows]
    equal = mine == theirs if ordered else Counter(mine) == Counter(theirs)
    if equal and got.more == gold.more:
        return {**zero, "result_match": 1.0}
    common = sum((Counter(mine) & Counter(theirs)).values())
    f1 = 2 * common / (len(mine) + len(theirs)) if mine or theirs else 0.0
    return {**zero, "row_overlap": 0.5 * f1}


def _row_key(row: list[Any]) -> tuple[Any, ...]:
    # Floats are compared to 6 decimals so 2.0 equals 2 and AVG rounding noise is ignored.
    return tuple(round(v, 6) if isinstance(v, float) and math.isfinite(v) else v for v in row)


def format_result(result: QueryResult, shown: int = SHOWN_ROWS) -> str:
    """Render a result as a small text table (at most ``shown`` rows, long values cut)."""
    if result.error:
        return f"Error: {result.error}"
    lines = [" | ".join(_cell(c) for c in result.columns)]
    lines += [" | ".join(_cell(v) for v in row) for row in result.rows[:shown]]
    hidden = len(result.rows) - shown
    if hidden > 0 or result.more:
        lines.append(
            f"... ({'more than ' if result.more else ''}{max(hidden, 0)} more rows not shown)"
        )
    if not result.rows:
        lines.append("(no rows)")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    text = "NULL" if value is None else str(value)
    return text if len(text) <= SHOWN_CELL else text[: SHOWN_CELL - 3] + "..."


class SqlEnv(TextEnv):
    """Answer a question about a SQLite database with a query (InterCode-SQL style).

    ## Description
    Each episode picks one of the shipped questions (54 over three schemas: ``library``,
    ``shop``, ``school``, built from SQL scripts in ``envs/tools/data/sql``). The database is
    built in the episode's sandbox session; the agent explores it with queries (read-only) and
    submits a final query, whose result is compared with the gold query's.

    The submitted query runs in the sandbox on a fresh copy of the database, so nothing earlier
    queries did to the episode's files counts; the gold query runs in the environment's process
    on its own in-memory copy, out of the agent's reach, and a gold query that fails is an error
    of the environment (:class:`GoldQueryFailed`), never a match. Connections are read-only and
    refuse ``ATTACH`` (hence ``VACUUM INTO``) and PRAGMA writes.

    ## Observation
    The schema (``CREATE TABLE`` statements), the question, and the result of the last query (at
    most 20 rows shown) or its error.

    ## Action
    A SQL query (bare or in a ```sql block) to run, or ``submit <query>`` to submit a final query.

    ## Reward
    On submission (see :func:`result_score`): ``result_match`` 1.0 when the result equals the
    gold result (order-insensitive unless the question asks for an order); otherwise partial
    credit ``row_overlap`` (0.5 x F1 of the rows). Exploration steps return 0.
    ``metrics["success"]`` is an exact match.

    ## Termination
    On submission; truncated after ``max_turns`` actions without one.

    ## Arguments
    ``schema`` (restrict to one schema), ``max_turns`` (10), ``query_timeout_s`` (2),
    ``sandbox`` (a ``Sandbox`` or ``SandboxPool``), ``render_mode``.
    ``reset(options={"question_id": "shop/3"})`` picks a question.
    """

    system_prompt = (
        "You answer questions about a SQLite database. Run queries to explore it, then reply "
        "'submit <query>' with the query whose result answers the question."
    )

    def __init__(
        self,
        schema: str | None = None,
        max_turns: int = 10,
        query_timeout_s: float = 2.0,
        max_rows: int = 1_000,
        sandbox: Any = None,
        render_mode: str | None = None,
        max_action_length: int = 4_096,
    ) -> None:
        super().__init__(render_mode=render_mode, max_action_length=max_action_length)
        self.questions = [q for q in sql_questions() if schema is None or q.schema == schema]
        if not self.questions:
            schemas = sorted({q.schema for q in sql_questions()})
            raise ValueError(f"No questions for schema {schema!r}; choose one of {schemas}.")
        self.max_turns = max_turns
        self.query_timeout_s = query_timeout_s
        self.max_rows = max_rows
        self.sessions = LeaseHolder(self, sandbox)
        self.question: SqlQuestion = self.questions[0]
        self.turns = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Pick a question and show the schema."""
        super().reset(seed=seed)
        wanted = (options or {}).get("question_id")
        if wanted is not None:
            self.question = pick_by_id(sql_questions(), wanted, "question_id")
        else:
            self.question = self.questions[int(self.np_random.integers(len(self.questions)))]
        self.turns = 0
        self.sessions.clean()  # the last episode's database goes; the first query builds this one
        observation = self._observation("Run a query, or reply 'submit <query>'.")
        self.transcript = [observation]
        return observation, step_info(0.0, components={}, task_id=self.question.id)

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Run the query, or grade a submitted one."""
        self.turns += 1
        text, problem = read_action(action, self.max_action_length)
        submitted = text is not None and SUBMIT.match(text) is not None
        query = extract_code(SUBMIT.sub("", text, count=1), "sql") if text is not None else ""
        if not problem and not query:
            problem = "Your reply contains no query. Write a SQL query, or 'submit <query>'."
        components = {"result_match": 0.0, "row_overlap": 0.0}
        if problem:
            feedback = problem
        elif submitted:
            (got,) = self.run_queries([query], fresh=True)
            gold = gold_result(self.question, self.max_rows, self.query_timeout_s)
            components = result_score(got, gold, self.question.ordered)
            feedback = self._grade_feedback(got, components)
        else:
            (got,) = self.run_queries([query])
            feedback = format_result(got)
        terminated = submitted and not problem
        truncated = not terminated and self.turns >= self.max_turns
        reward = sum(components.values())
        self.transcript += [f"A: {str(action)[:500]}", feedback]
        info = step_info(
            reward,
            components=components,
            feedback=feedback,
            task_id=self.question.id,
            metrics={"success": components["result_match"] == 1.0, "turns": self.turns},
        )
        return self._observation(feedback), reward, terminated, truncated, info

    def close(self) -> None:
        """Give the sandbox session back."""
        self.sessions.release()

    def run_queries(self, queries: list[str], fresh: bool = False) -> list[QueryResult]:
        """Run queries in the sandbox against this episode's database (built on first use).

        Args:
            queries: SQL queries, each run on its own read-only connection.
            fresh: Run them on a new copy of the database instead (for a submitted query).
        """
        from envalign.sandbox import Limits

        lease = self.sessions.lease
        request = {
            "fresh": fresh,
            "schema": schema_script(self.question.schema),
            "queries": queries,
            "timeout": self.query_timeout_s,
            "max_rows": self.max_rows,
        }
        limits = Limits(wall_time_s=5 + self.query_timeout_s * len(queries), output_bytes=1 << 22)
        result = lease.run(RUNNER, language="python", stdin=json.dumps(request), limits=limits)
        try:
            answers = json.loads(result.stdout)
            return [QueryResult(**answer) for answer in answers]
        except (json.JSONDecodeError, TypeError):
            reason = "timed out" if result.timed_out else f"exit code {result.exit_code}"
            return [QueryResult([], [], error=f"the query could not run ({reason})")] * len(queries)

    def _grade_feedback(self, got: QueryResult, components: dict[str, float]) -> str:
        if got.error:
            return f"Submitted query failed: {got.error}"
        if components["result_match"] == 1.0:
            return "Submitted: the result is correct."
        return (
            "Submitted: the result differs from the expected one "
            f"(partial credit {sum(components.values()):.2f}). Your result:\n{format_result(got)}"
        )

    def _observation(self, last: str) -> str:
        order = " (order matters)" if self.question.ordered else ""
        return (
            f"Database schema:\n{schema_summary(schema_script(self.question.schema))}\n\n"
            f"Question{order}: {self.question.question}\n\n{last}\n"
            f"Turn {self.turns}/{self.max_turns}."
        )


@functools.lru_cache(maxsize=256)
def gold_result(question: SqlQuestion, max_rows: int, timeout_s: float = 2.0) -> QueryResult:
    """Run ``question``'s gold query here, on its own in-memory copy of the database.

    The gold query never runs in the sandbox, so nothing the agent's queries do to the episode's
    files (a hot journal written with ``VACUUM INTO``, an attached file) can change it.

    Raises:
        GoldQueryFailed: If the gold query fails.
    """
    connection = sqlite3.connect(":memory:")
    try:
        connection.executescript(schema_script(question.schema))
        deadline = time.monotonic() + timeout_s
        connection.set_progress_handler(lambda: time.monotonic() > deadline, 10_000)
        cursor = connection.execute(question.gold)
        rows = cursor.fetchmany(max_rows + 1)
    except sqlite3.Error as error:
        raise GoldQueryFailed(
            f"The gold query of {question.id} failed ({type(error).__name__}: {error}); "
            "fix the question in data/sql_questions.json."
        ) from error
    finally:
        connection.close()
    columns = [d[0] for d in cursor.description or []]
    encoded = [[v.hex() if isinstance(v, bytes) else v for v in row] for row in rows[:max_rows]]
    return QueryResult(columns, encoded, more=len(rows) > max_rows)


def scripted_policy(context: ActContext) -> str:
    """The oracle: submit the gold query."""
    return f"submit {context.env.question.gold}"


RANDOM_QUERIES = (
    "SELECT 1",
    "SELECT * FROM sqlite_master",
    "SELECT name FROM",
    "DROP TABLE x",
    "submit SELECT 42",
    "hello",
)


def random_policy(context: ActContext) -> str:
    """Run or submit a random query."""
    return context.rng.choice(RANDOM_QUERIES)
