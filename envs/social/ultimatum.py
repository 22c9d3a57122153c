"""Ultimatum-v0: a proposer splits a pot, a responder accepts or rejects."""

from __future__ import annotations

import re
from typing import Any

from envalign.envs.core import ActContext, TextParallelEnv, read_action
from envalign.envs.info import step_info
from envalign.envs.spaces import multi_agent_observation

PROPOSER, RESPONDER = "proposer", "responder"
OFFER = re.compile(r"\boffer\s*:?\s*(\d{1,9})\b", re.IGNORECASE)
BARE_NUMBER = re.compile(r"^\s*(\d{1,9})\s*\.?\s*$")
DECISION = re.compile(r"\b(accept|reject)\b", re.IGNORECASE)
INVALID_PENALTY = -0.05
#: Pots up to this size list every offer in ``valid_actions``; larger ones only the answers.
MAX_LISTED_OFFERS = 1_000
DECISIONS = ("ACCEPT", "REJECT")


def parse_offer(text: str, pot: int) -> tuple[int | None, str]:
    """Parse ``OFFER n`` (or a bare ``n``): coins for the responder, ``0 <= n <= pot``.

    Returns:
        ``(n, "")`` or ``(None, feedback)``.
    """
    match = OFFER.search(text) or BARE_NUMBER.match(text)
    if match is None:
        return None, f"Write your offer as 'OFFER n' with n a whole number from 0 to {pot}."
    offer = int(match.group(1))
    if offer > pot:
        return None, f"You offered {offer}, but the pot is only {pot}. Offer 0 to {pot}."
    return offer, ""


def parse_decision(text: str) -> tuple[bool | None, str]:
    """Parse ``ACCEPT`` or ``REJECT`` (the first of the two words that appears)."""
    match = DECISION.search(text)
    if match is None:
        return None, "Answer with ACCEPT or REJECT."
    return match.group(1).lower() == "accept", ""


class UltimatumEnv(TextParallelEnv):
    """The ultimatum game in text, with payoffs as rewards.

    ## Description
    The ``proposer`` offers the ``responder`` a share of a pot of ``pot`` coins. The responder accepts
    (both get their shares) or rejects (both get nothing). Turns are sequential: in each step
    ``info[agent]["acting"]`` names who moves; the other's action is ignored.

    ## Observation
    ``{"observation": [phase, offer, invalid_count], "text": str}``; phase 0 is the offer, 1 the answer.

    ## Action
    Proposer: ``OFFER n`` (or just ``n``), ``0 <= n <= pot``. Responder: ``ACCEPT`` or ``REJECT``.
    ``valid_actions`` lists the acting agent's moves: ``OFFER 0`` ... ``OFFER pot`` (pots of up to
    1,000 coins) or ``ACCEPT`` and ``REJECT``.

    ## Reward
    ``payoff``: the agent's coins / ``pot`` when the game ends. ``invalid_action``: -0.05 to the agent
    whose action could not be parsed (it moves again). After ``max_invalid`` invalid actions by the
    proposer the game ends without a deal; a responder's ``max_invalid``-th invalid answer is a rejection.

    ## Termination
    After the responder's decision (or too many invalid actions).

    ## Arguments
    ``pot`` (default 100), ``max_invalid`` (default 3), ``render_mode`` (``"ansi"``).
    """

    metadata = {"render_modes": ["ansi"], "name": "ultimatum_v0"}
    num_features = 3

    def __init__(
        self, pot: int = 100, max_invalid: int = 3, render_mode: str | None = None
    ) -> None:
        super().__init__([PROPOSER, RESPONDER], render_mode=render_mode, max_action_length=2_048)
        if pot < 1 or max_invalid < 1:
            raise ValueError("pot and max_invalid must be at least 1.")
        self.pot, self.max_invalid = pot, max_invalid
        self.offer: int | None = None
        self.invalid = {agent: 0 for agent in self.possible_agents}
        self.acting = PROPOSER

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Start a new game (it has no randomness; the seed is accepted for the API)."""
        self.agents = list(self.possible_agents)
        self.offer, self.acting = None, PROPOSER
        self.invalid = {agent: 0 for agent in self.possible_agents}
        self.transcript = [f"Ultimatum game over {self.pot} coins."]
        texts = {
            PROPOSER: self._proposer_prompt(""),
            RESPONDER: "You are the responder. Wait: the proposer is making an offer.",
        }
        infos = self._infos(dict.fromkeys(self.agents, 0.0), {}, dict.fromkeys(self.agents, ""))
        return self._observations(texts), infos

    def step(self, actions: dict[str, str]) -> tuple[dict, dict, dict, dict, dict]:
        """Apply the acting agent's move."""
        mover = self.acting
        text, problem = read_action(actions.get(mover, ""), self.max_action_length)
        if mover == PROPOSER:
            return self._step_offer(text, problem)
        return self._step_decision(text, problem)

    def _step_offer(self, text: str | None, problem: str) -> tuple[dict, dict, dict, dict, dict]:
        offer, problem = parse_offer(text, self.pot) if text is not None else (None, problem)
        if offer is None:
            self.invalid[PROPOSER] += 1
            self.transcript.append(f"proposer: invalid offer ({problem})")
            if self.invalid[PROPOSER] >= self.max_invalid:
                return self._finish(accepted=False, penalised=PROPOSER, note=problem)
            texts = {
                PROPOSER: self._proposer_prompt(f"Invalid offer: {problem}"),
                RESPONDER: "The proposer's offer was invalid; wait for a new one.",
            }
            return self._continue(texts, PROPOSER, problem, penalised=True)
        self.offer, self.acting = offer, RESPONDER
        self.transcript.append(f"proposer: offers {offer} of {self.pot}")
        texts = {
            PROPOSER: f"You offered {offer} of {self.pot}. Wait for the responder's decision.",
            RESPONDER: self._responder_prompt(""),
        }
        return self._continue(texts, PROPOSER, f"Offer of {offer} sent.", penalised=False)

    def _step_decision(self, text: str | None, problem: str) -> tuple[dict, dict, dict, dict, dict]:
        accepted, problem = parse_decision(text) if text is not None else (None, problem)
        if accepted is None:
            self.invalid[RESPONDER] += 1
            self.transcript.append(f"responder: invalid answer ({problem})")
            if self.invalid[RESPONDER] >= self.max_invalid:
                return self._finish(accepted=False, penalised=RESPONDER, note=problem)
            texts = {
                PROPOSER: "Waiting for the responder's decision.",
                RESPONDER: self._responder_prompt(f"Invalid answer: {problem}"),
            }
            return self._continue(texts, RESPONDER, problem, penalised=True)
        self.transcript.append(f"responder: {'accepts' if accepted else 'rejects'}")
        return self._finish(accepted=accepted, penalised=None, note="")

    def _continue(
        self, texts: dict[str, str], mover: str, feedback_text: str, *, penalised: bool
    ) -> tuple[dict, dict, dict, dict, dict]:
        penalty = INVALID_PENALTY if penalised else 0.0
        rewards = {a: (penalty if a == mover else 0.0) for a in self.agents}
        components = {mover: {"invalid_action": INVALID_PENALTY}} if penalised else {}
        feedback = {a: (feedback_text if a == mover else "") for a in self.agents}
        infos = self._infos(rewards, components, feedback)
        return self.step_result(self._observations(texts), rewards, infos, over=False)

    def _finish(
        self, *, accepted: bool, penalised: str | None, note: str
    ) -> tuple[dict, dict, dict, dict, dict]:
        offer = self.offer or 0
        shares = {PROPOSER: self.pot - offer, RESPONDER: offer} if accepted else {}
        components: dict[str, dict[str, float]] = {}
        for agent in self.agents:
            parts = {"payoff": shares.get(agent, 0) / self.pot}
            if agent == penalised:
                parts["invalid_action"] = INVALID_PENALTY
            components[agent] = parts
        rewards = {agent: sum(parts.values()) for agent, parts in components.items()}
        outcome = (
            f"Deal: proposer {shares[PROPOSER]}, responder {shares[RESPONDER]}."
            if accepted
            else "No deal: both get nothing."
        )
        if note:
            outcome = f"Too many invalid actions ({note}). {outcome}"
        self.transcript.append(outcome)
        feedback = dict.fromkeys(self.agents, outcome)
        infos = self._infos(rewards, components, feedback, accepted=accepted)
        observations = self._observations(dict.fromkeys(self.agents, outcome))
        return self.step_result(observations, rewards, infos, over=True)

    def _infos(
        self,
        rewards: dict[str, float],
        components: dict[str, dict[str, float]],
        feedback: dict[str, str],
        accepted: bool | None = None,
    ) -> dict[str, dict[str, Any]]:
        metrics: dict[str, float | bool] = {}
        if accepted is not None:
            metrics = {"success": accepted, "offer": float(self.offer or 0)}
        return {
            agent: step_info(
                rewards[agent],
                components=components.get(agent, {}),
                feedback=feedback[agent],
                task_id=f"pot{self.pot}",
                metrics=metrics,
                valid_actions=self._valid_actions(agent) if accepted is None else None,
                acting=accepted is None and agent == self.acting,
            )
            for agent in self.agents
        }

    def _valid_actions(self, agent: str) -> list[str] | None:
        if agent != self.acting:
            return None
        if agent == RESPONDER:
            return list(DECISIONS)
        return (
            [f"OFFER {n}" for n in range(self.pot + 1)] if self.pot <= MAX_LISTED_OFFERS else None
        )

    def _observations(self, texts: dict[str, str]) -> dict[str, dict[str, Any]]:
        phase = 0 if self.acting == PROPOSER else 1
        return {
            agent: multi_agent_observation(
                texts[agent], [phase, self.offer or 0, self.invalid[agent]]
            )
            for agent in self.agents
        }

    def _proposer_prompt(self, feedback: str) -> str:
        lead = f"{feedback}\n" if feedback else ""
        return (
            f"{lead}You are the proposer. Split {self.pot} coins with the responder. If they accept, "
            f"they get your offer and you keep the rest; if they reject, both get nothing. "
            f"Reply 'OFFER n' with n from 0 to {self.pot}."
        )

    def _responder_prompt(self, feedback: str) -> str:
        lead = f"{feedback}\n" if feedback else ""
        return (
            f"{lead}You are the responder. The proposer offers you {self.offer} of {self.pot} coins "
            f"(they keep {self.pot - (self.offer or 0)}). Reply ACCEPT or REJECT; rejecting leaves "
            "both with nothing."
        )


def fair_policy(context: ActContext) -> str:
    """Offer half; accept any offer of at least 30% of the pot."""
    env = context.env
    if context.agent == PROPOSER:
        return f"OFFER {env.pot // 2}"
    return "ACCEPT" if (env.offer or 0) * 10 >= env.pot * 3 else "REJECT"


def strict_policy(context: ActContext) -> str:
    """Offer half; accept only an even split or better (enforces the equal-split norm)."""
    env = context.env
    if context.agent == PROPOSER:
        return f"OFFER {env.pot // 2}"
    return "ACCEPT" if (env.offer or 0) * 2 >= env.pot else "REJECT"


def greedy_policy(context: ActContext) -> str:
    """Offer the least coin; accept anything."""
    return "OFFER 1" if context.agent == PROPOSER else "ACCEPT"


def random_policy(context: ActContext) -> str:
    """A uniformly random offer, or a coin flip between accepting and rejecting."""
    if context.agent == PROPOSER:
        return f"OFFER {context.rng.randint(0, context.env.pot)}"
    return context.rng.choice(["ACCEPT", "REJECT"])
