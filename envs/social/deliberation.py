"""Deliberation-v0: a group answers questions with known answers, deliberates, then votes."""

from __future__ import annotations

import functools
import json
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envalign.envs.core import ActContext, TextParallelEnv, read_action
from envalign.envs.info import step_info
from envalign.envs.spaces import multi_agent_observation

QUESTIONS_FILE = Path(__file__).parent / "data" / "deliberation_questions.jsonl"
LETTERS = "ABCDEFGH"
INVALID_PENALTY = -0.05
MAX_REASON_LENGTH = 300
AGGREGATIONS = ("majority", "borda")
ANSWER_LINE = re.compile(r"\banswer\s*(?:is\s*)?[:=\-]?\s*\(?([A-H])\)?(?![\w'])", re.IGNORECASE)
LEADING_LETTER = re.compile(r"^\s*\(?([A-H])\)?(?:[.):\s]|$)")
REASON = re.compile(r"\breason\s*[:=\-]\s*(.+)", re.IGNORECASE | re.DOTALL)
RANKING = re.compile(r"\branking\s*[:=\-]\s*([^\n]*)", re.IGNORECASE)


@dataclass(frozen=True)
class Question:
    """A multiple-choice question with a known answer (a letter)."""

    id: str
    question: str
    choices: tuple[str, ...]
    answer: str
    topic: str = ""


@dataclass
class Ballot:
    """One agent's reply in one round: an answer letter (or None), a reason and a ranking."""

    answer: str | None
    reason: str = ""
    ranking: list[str] = field(default_factory=list)


@functools.cache
def load_questions(path: str = str(QUESTIONS_FILE)) -> tuple[Question, ...]:
    """Read questions from JSON Lines: ``id``, ``question``, ``choices``, ``answer`` (a letter)."""
    questions = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                questions.append(
                    Question(
                        row["id"],
                        row["question"],
                        tuple(row["choices"]),
                        row["answer"],
                        row.get("topic", ""),
                    )
                )
    if not questions:
        raise ValueError(f"No questions in {path}; each line needs id, question, choices, answer.")
    return tuple(questions)


def parse_answer(text: str, num_choices: int) -> tuple[str | None, str]:
    """Parse the chosen letter: ``ANSWER: B``, ``answer is (b)``, or a reply opening with ``B``.

    Returns:
        ``(letter, "")`` in upper case, or ``(None, feedback)``.
    """
    allowed = LETTERS[:num_choices]
    match = ANSWER_LINE.search(text) or LEADING_LETTER.match(text)
    if match is None:
        return None, f"Start with 'ANSWER: X' where X is one of {', '.join(allowed)}."
    letter = match.group(1).upper()
    if letter not in allowed:
        return None, f"'{letter}' is not an option; choose one of {', '.join(allowed)}."
    return letter, ""


def parse_ranking(text: str, num_choices: int) -> tuple[list[str], str]:
    """Parse an optional ``RANKING: B > A > D`` line (best first, no repeats).

    Returns:
        ``(letters, "")``; ``([], "")`` when there is no ranking; ``([], feedback)`` for a bad one.
    """
    match = RANKING.search(text)
    if match is None:
        return [], ""
    allowed = LETTERS[:num_choices]
    letters = [token.upper() for token in re.findall(r"\b([A-Za-z])\b", match.group(1))]
    if not letters or any(letter not in allowed for letter in letters):
        return [], f"Your ranking was ignored: list options from {', '.join(allowed)}, best first."
    if len(set(letters)) != len(letters):
        return [], "Your ranking was ignored: it repeats an option."
    return letters, ""


def parse_ballot(text: str, num_choices: int) -> tuple[Ballot, str]:
    """Parse a whole reply into a :class:`Ballot` and feedback (empty when all was well formed)."""
    answer, problem = parse_answer(text, num_choices)
    ranking, ranking_problem = parse_ranking(text, num_choices)
    if answer is None and ranking:
        answer, problem = ranking[0], ""
    reason_match = REASON.search(text)
    reason = reason_match.group(1) if reason_match else ""
    reason = " ".join(RANKING.sub("", reason).split())[:MAX_REASON_LENGTH]
    return Ballot(answer, reason, ranking or ([answer] if answer else [])), " ".join(
        part for part in (problem, ranking_problem) if part
    )


def majority_scores(ballots: list[Ballot], num_choices: int) -> dict[str, float]:
    """Votes per option (abstentions do not vote)."""
    counts = Counter(ballot.answer for ballot in ballots if ballot.answer)
    return {letter: float(counts[letter]) for letter in LETTERS[:num_choices]}


def borda_scores(ballots: list[Ballot], num_choices: int) -> dict[str, float]:
    """Borda points: with k options, the i-th ranked gets k-1-i; unranked ones share the rest."""
    letters = LETTERS[:num_choices]
    scores = dict.fromkeys(letters, 0.0)
    for ballot in ballots:
        if not ballot.ranking:
            continue
        for position, letter in enumerate(ballot.ranking):
            scores[letter] += num_choices - 1 - position
        unranked = [letter for letter in letters if letter not in ballot.ranking]
        leftover = sum(range(len(unranked)))
        for letter in unranked:
            scores[letter] += leftover / len(unranked)
    return scores


def group_answer(scores: dict[str, float], tie_order: str) -> str | None:
    """The top-scoring option, ties going to the earliest in ``tie_order``; ``None`` if no votes."""
    best = max(scores.values(), default=0.0)
    if best <= 0:
        return None
    return next(letter for letter in tie_order if scores.get(letter) == best)


class DeliberationEnv(TextParallelEnv):
    """Collective intelligence: answer, read each other's reasons, revise, then vote as a group.

    ## Description
    ``num_agents`` agents (``agent_0`` ...) get the same multiple-choice question with a known
    answer. In round 0 each answers alone; in each of the ``rounds`` deliberation rounds every agent
    sees the others' latest answers and reasons and answers again. After the last round the group
    answer is formed by ``aggregation``: ``"majority"`` (plurality of final answers) or
    ``"borda"`` (Borda count over the agents' rankings). Ties go to the option that comes first
    in an order of the options drawn at random (from the seed) for each question, so the same
    ballots always give the same group answer. An episode asks ``questions_per_episode``
    questions drawn from the seed. All agents act every step.

    ## Observation
    ``{"observation": [question_index, round, own_answer, agreeing], "text": str}`` where
    ``own_answer`` is 0 for none, 1 for A and so on, and ``agreeing`` counts the other agents
    whose last answer equals the agent's own.

    ## Action
    ``ANSWER: X`` (a letter; a reply opening with the letter also counts), optionally
    ``REASON: ...`` (shown to the others, up to 300 characters) and ``RANKING: X > Y > ...`` (best
    first, used by the Borda count; without it the answer alone is ranked first). ``valid_actions``
    lists ``ANSWER: A`` ... .

    ## Reward
    At each question's end: ``group_accuracy`` = ``group_weight`` if the group answer is right, and
    ``individual_accuracy`` = ``individual_weight`` if the agent's own final answer is right.
    ``invalid_action``: -0.05 for a reply without a usable answer (it abstains that round).
    ``metrics`` (over the episode's finished questions): ``group_accuracy``,
    ``individual_accuracy``, ``initial_group_accuracy`` (the group answer the round-0 answers would
    have given), ``fixed_rate`` (deliberation turned a wrong initial group answer right),
    ``broke_rate`` (it turned a right one wrong) and ``success`` (every group answer right).

    ## Termination
    After the last round of the last question.

    ## Arguments
    ``num_agents`` (3), ``rounds`` (2), ``aggregation`` (``"majority"``), ``questions_per_episode``
    (1), ``group_weight`` (0.5), ``individual_weight`` (0.5), ``questions_file`` (JSON Lines with
    ``id``, ``question``, ``choices``, ``answer``; default: the 209 shipped questions),
    ``render_mode`` (``"ansi"``).
    """

    metadata = {"render_modes": ["ansi"], "name": "deliberation_v0"}
    num_features = 4

    def __init__(
        self,
        num_agents: int = 3,
        rounds: int = 2,
        aggregation: str = "majority",
        questions_per_episode: int = 1,
        group_weight: float = 0.5,
        individual_weight: float = 0.5,
        questions_file: str | None = None,
        render_mode: str | None = None,
    ) -> None:
        if num_agents < 2:
            raise ValueError(f"num_agents must be at least 2, got {num_agents}.")
        if rounds < 0 or questions_per_episode < 1:
            raise ValueError("rounds must be >= 0 and questions_per_episode >= 1.")
        if aggregation not in AGGREGATIONS:
            raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {aggregation!r}.")
        super().__init__(
            [f"agent_{index}" for index in range(num_agents)],
            render_mode=render_mode,
            max_action_length=4_096,
        )
        self.rounds, self.aggregation = rounds, aggregation
        self.questions_per_episode = questions_per_episode
        self.group_weight, self.individual_weight = group_weight, individual_weight
        self.questions = load_questions(questions_file or str(QUESTIONS_FILE))
        if questions_per_episode > len(self.questions):
            raise ValueError(f"Only {len(self.questions)} questions; ask for fewer per episode.")
        self.rng = random.Random()
        self.episode_questions: list[Question] = []
        self.question_index, self.round = 0, 0
        self.ballots: list[dict[str, Ballot]] = []
        self.tie_order = LETTERS
        self.outcomes: list[dict[str, Any]] = []

    @property
    def system_prompt(self) -> str:
        """The instruction LLM agents get first."""
        return (
            "You answer multiple-choice questions together with other agents. Reply 'ANSWER: X' "
            "and 'REASON: ...'; you will see the others' answers and may change yours."
        )

    @property
    def current(self) -> Question:
        """The question being deliberated."""
        return self.episode_questions[min(self.question_index, len(self.episode_questions) - 1)]

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Draw the episode's questions from the seed and ask the first."""
        self.rng = random.Random(seed)
        self.episode_questions = self.rng.sample(list(self.questions), self.questions_per_episode)
        self.agents = list(self.possible_agents)
        self.question_index, self.round, self.ballots, self.outcomes = 0, 0, [], []
        self.tie_order = self._draw_tie_order()
        self.transcript = [f"Deliberation: {self.current.id} {self.current.question}"]
        feedback = dict.fromkeys(self.agents, "A new question.")
        zero = dict.fromkeys(self.agents, 0.0)
        return self._observations(feedback), self._infos(zero, {}, feedback)

    def step(self, actions: dict[str, str]) -> tuple[dict, dict, dict, dict, dict]:
        """Record every agent's ballot; close the question after the last round."""
        components: dict[str, dict[str, float]] = {agent: {} for agent in self.agents}
        feedback: dict[str, str] = {}
        ballots: dict[str, Ballot] = {}
        for agent in self.agents:
            text, problem = read_action(actions.get(agent, ""), self.max_action_length)
            ballot, problem = (
                parse_ballot(text, len(self.current.choices)) if text else (Ballot(None), problem)
            )
            if not text and not problem:
                problem = "Your reply was empty. Start with 'ANSWER: X'."
            if ballot.answer is None:
                components[agent]["invalid_action"] = INVALID_PENALTY
            ballots[agent] = ballot
            noted = f"Your answer: {ballot.answer}." if ballot.answer else "You abstained."
            feedback[agent] = f"{problem} {noted}".strip()
        self.ballots.append(ballots)
        self.transcript.append(
            f"round {self.round}: " + ", ".join(f"{a}={b.answer}" for a, b in ballots.items())
        )
        if self.round < self.rounds:
            self.round += 1
            return self._advance(components, feedback, over=False)
        self._close_question(components, feedback)
        over = self.question_index + 1 >= len(self.episode_questions)
        if not over:
            self.question_index, self.round, self.ballots = self.question_index + 1, 0, []
            self.tie_order = self._draw_tie_order()
        return self._advance(components, feedback, over=over)

    def _close_question(
        self, components: dict[str, dict[str, float]], feedback: dict[str, str]
    ) -> None:
        choices = len(self.current.choices)
        initial = self._aggregate(list(self.ballots[0].values()), choices)
        final = self._aggregate(list(self.ballots[-1].values()), choices)
        truth = self.current.answer
        finals = {agent: ballot.answer for agent, ballot in self.ballots[-1].items()}
        self.outcomes.append(
            {
                "initial_correct": initial == truth,
                "group_correct": final == truth,
                "individual": {agent: answer == truth for agent, answer in finals.items()},
            }
        )
        self.transcript.append(f"group answer {final}, truth {truth}")
        for agent in self.agents:
            components[agent]["group_accuracy"] = self.group_weight * (final == truth)
            components[agent]["individual_accuracy"] = self.individual_weight * (
                finals[agent] == truth
            )
            verdict = "right" if final == truth else "wrong"
            feedback[agent] += (
                f" The group answered {final or 'nothing'} ({verdict}); the correct answer was "
                f"{truth}: {self.current.choices[LETTERS.index(truth)]}."
            )

    def _draw_tie_order(self) -> str:
        letters = list(LETTERS[: len(self.current.choices)])
        self.rng.shuffle(letters)
        return "".join(letters)

    def _aggregate(self, ballots: list[Ballot], num_choices: int) -> str | None:
        score = borda_scores if self.aggregation == "borda" else majority_scores
        return group_answer(score(ballots, num_choices), self.tie_order)

    def _advance(
        self, components: dict[str, dict[str, float]], feedback: dict[str, str], *, over: bool
    ) -> tuple[dict, dict, dict, dict, dict]:
        rewards = {agent: sum(parts.values()) for agent, parts in components.items()}
        observations = self._observations(feedback, over=over)
        infos = self._infos(rewards, components, feedback, over=over)
        return self.step_result(observations, rewards, infos, over=over)

    def _metrics(self, agent: str) -> dict[str, float | bool]:
        done = self.outcomes
        if not done:
            return {"round": self.round, "question_index": self.question_index}
        count = len(done)

        def rate(predicate: Any) -> float:
            return sum(1 for outcome in done if predicate(outcome)) / count

        return {
            "group_accuracy": rate(lambda o: o["group_correct"]),
            "individual_accuracy": rate(lambda o: o["individual"][agent]),
            "initial_group_accuracy": rate(lambda o: o["initial_correct"]),
            "fixed_rate": rate(lambda o: o["group_correct"] and not o["initial_correct"]),
            "broke_rate": rate(lambda o: o["initial_correct"] and not o["group_correct"]),
            "success": all(outcome["group_correct"] for outcome in done),
            "round": self.round,
            "question_index": self.question_index,
        }

    def _infos(
        self,
        rewards: dict[str, float],
        components: dict[str, dict[str, float]],
        feedback: dict[str, str],
        *,
        over: bool = False,
    ) -> dict[str, dict[str, Any]]:
        valid = (
            None if over else [f"ANSWER: {LETTERS[i]}" for i in range(len(self.current.choices))]
        )
        return {
            agent: step_info(
                rewards[agent],
                components=components.get(agent, {}),
                feedback=feedback[agent],
                task_id=self.current.id,
                valid_actions=valid,
                metrics=self._metrics(agent),
                acting=not over,
            )
            for agent in self.agents
        }

    def _observations(
        self, feedback: dict[str, str], *, over: bool = False
    ) -> dict[str, dict[str, Any]]:
        last = self.ballots[-1] if self.ballots else {}
        observations = {}
        for agent in self.agents:
            own = last.get(agent, Ballot(None)).answer
            agreeing = sum(
                1
                for other, ballot in last.items()
                if other != agent and own and ballot.answer == own
            )
            code = LETTERS.index(own) + 1 if own else 0
            text = self._text(agent, feedback[agent], over)
            observations[agent] = multi_agent_observation(
                text, [self.question_index, self.round, code, agreeing]
            )
        return observations

    def _text(self, agent: str, feedback: str, over: bool) -> str:
        if over:
            return f"{feedback}\nThe deliberation is over."
        question = self.current
        options = "\n".join(f"{LETTERS[i]}) {choice}" for i, choice in enumerate(question.choices))
        lines = [
            feedback,
            f"You are {agent}, one of {len(self.possible_agents)} agents answering together. "
            f"Question {self.question_index + 1} of {len(self.episode_questions)}, round "
            f"{self.round} of {self.rounds}.",
            f"{question.question}\n{options}",
        ]
        if self.ballots:
            lines.append("The others' latest answers:")
            for other, ballot in self.ballots[-1].items():
                if other != agent:
                    reason = f" because: {ballot.reason}" if ballot.reason else ""
                    lines.append(f"- {other}: {ballot.answer or 'no answer'}{reason}")
        method = "majority vote" if self.aggregation == "majority" else "Borda count of rankings"
        lines.append(
            f"After round {self.rounds} the group answer is decided by {method}. Reply "
            "'ANSWER: X', then 'REASON: ...'"
            + (" and 'RANKING: X > Y > ...'." if self.aggregation == "borda" else ".")
        )
        return "\n".join(line for line in lines if line)


def _knows(context: ActContext, probability: float) -> str:
    """The agent's first-round belief: the truth with ``probability``, else a wrong option."""
    env = context.env
    question = env.current
    letters = LETTERS[: len(question.choices)]
    if context.rng.random() < probability:
        return question.answer
    return context.rng.choice([letter for letter in letters if letter != question.answer])


def _own_last(context: ActContext) -> str | None:
    ballots = context.env.ballots
    return ballots[-1][context.agent].answer if ballots else None


def honest_agent(context: ActContext) -> str:
    """Knows the answer with probability 0.7 (reading the hidden answer) and never changes it."""
    answer = _own_last(context) or _knows(context, 0.7)
    return f"ANSWER: {answer}\nREASON: I am confident in {answer}."


def majority_follower(context: ActContext) -> str:
    """Answers from its own knowledge (probability 0.6) first, then joins the others' majority."""
    env = context.env
    own = _own_last(context)
    if own is None:
        own = _knows(context, 0.6)
        return f"ANSWER: {own}\nREASON: My first guess."
    others = Counter(
        b.answer for agent, b in env.ballots[-1].items() if agent != context.agent and b.answer
    )
    if others:
        top = max(others.values())
        leaders = sorted(letter for letter, count in others.items() if count == top)
        own = own if own in leaders else leaders[0]
    return f"ANSWER: {own}\nREASON: I follow the majority."


def random_answerer(context: ActContext) -> str:
    """A uniformly random option."""
    letters = LETTERS[: len(context.env.current.choices)]
    return f"ANSWER: {context.rng.choice(letters)}"
