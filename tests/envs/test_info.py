import math

import pytest

from envalign.envs import InvalidInfo, step_info, validate_info


def test_step_info_builds_the_schema():
    info = step_info(
        0.75,
        components={"tests": 0.5, "format": 0.25},
        feedback="2 of 3 tests passed",
        task_id="t1",
        valid_actions=["a", "b"],
        metrics={"success": False},
    )
    assert info["reward_components"] == {"tests": 0.5, "format": 0.25}
    assert info["feedback"] == "2 of 3 tests passed"
    assert info["valid_actions"] == ["a", "b"]
    assert info["metrics"] == {"success": False}
    assert "valid_actions" not in step_info(0.0, components={}, task_id="t")


def test_components_must_sum_to_the_reward():
    with pytest.raises(InvalidInfo, match="sum to 0.5"):
        step_info(1.0, components={"a": 0.5}, task_id="t")


@pytest.mark.parametrize(
    "info, message",
    [
        ({"reward_components": {}, "feedback": "", "task_id": "t"}, "lacks"),
        (
            {"reward_components": {"a": math.nan}, "feedback": "", "task_id": "t", "metrics": {}},
            "finite",
        ),
        ({"reward_components": {}, "feedback": None, "task_id": "t", "metrics": {}}, "feedback"),
        ({"reward_components": {}, "feedback": "", "task_id": 3, "metrics": {}}, "task_id"),
        (
            {"reward_components": {}, "feedback": "", "task_id": "t", "metrics": {"m": "x"}},
            "metrics",
        ),
        (
            {
                "reward_components": {},
                "feedback": "",
                "task_id": "t",
                "metrics": {},
                "valid_actions": "go",
            },
            "valid_actions",
        ),
    ],
)
def test_validate_info_names_the_wrong_entry(info, message):
    with pytest.raises(InvalidInfo, match=message):
        validate_info(info, 0.0)


def test_infinite_reward_is_refused():
    with pytest.raises(InvalidInfo, match="finite"):
        validate_info(
            {"reward_components": {}, "feedback": "", "task_id": "t", "metrics": {}}, math.inf
        )
