"""EnvWorker without Ray: baselines play inside the worker, other turns go to the driver."""

from __future__ import annotations

import dataclasses

from envalign.agents.base import Generation
from envalign.agents.baselines import baseline_policy
from envalign.training.rollout import Runner
from envalign.training.scale.worker import EnvWorker, WorkerRole, role_for, runs_in_worker

ULTIMATUM = "envalign/Ultimatum-v0"


def test_baselines_play_inside_the_worker_until_an_episode_ends():
    scripted = baseline_policy(ULTIMATUM, "scripted")
    worker = EnvWorker(ULTIMATUM, {"*": WorkerRole("scripted", scripted)}, capacity=2)
    report = worker.step({}, [(0, 0), (1, 1), (2, 2)])
    assert report.tickets == []  # nothing for the driver: both turns were played here
    assert [index for index, _ in report.finished] == [0, 1]
    assert report.live == [2] and report.backlog == 0
    last = worker.step({}, [])
    assert [index for index, _ in last.finished] == [2] and last.live == []
    local = Runner(ULTIMATUM, "scripted").run([0])[0]
    record = dataclasses.replace(report.finished[0][1], wall_time_s=local.wall_time_s)
    assert record == local


def test_driver_turns_come_back_as_tickets_without_the_environment():
    roles = {
        "proposer": WorkerRole("scripted", baseline_policy(ULTIMATUM, "scripted")),
        "responder": WorkerRole("model"),
    }
    worker = EnvWorker(ULTIMATUM, roles, capacity=1)
    report = worker.step({}, [(5, 5)])
    assert [(t.index, t.agent) for t in report.tickets] == [(5, "responder")]
    ticket = report.tickets[0]
    assert ticket.messages[-1]["role"] == "user" and ticket.info["acting"]
    answered = worker.step({5: {"responder": Generation("accept")}}, [])
    (index, episode), *_ = answered.finished
    assert index == 5 and episode.policies == {"proposer": "scripted", "responder": "model"}
    assert [turn.action for turn in episode.turns][-1] == "accept"


def test_roles_and_worker_side_policies():
    roles = {"a": WorkerRole("x"), "*": WorkerRole("y")}
    assert role_for(roles, "a").name == "x" and role_for(roles, "b").name == "y"
    assert runs_in_worker(baseline_policy(ULTIMATUM, "random"))
    assert not runs_in_worker(WorkerRole("not a baseline"))  # type: ignore[arg-type]
