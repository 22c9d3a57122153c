import ast

import pytest

from envalign.envs.tools.code_tasks import TEMPLATES, generated_task, humaneval_tasks, split_check


def test_humaneval_has_164_tasks_with_tests_and_gold():
    tasks = humaneval_tasks()
    assert len(tasks) == 164
    assert len({t.task_id for t in tasks}) == 164
    for task in tasks:
        assert task.tests
        ast.parse(task.gold)
        assert f"def {task.entry_point}" in task.gold


def test_straight_checks_are_split_per_assert():
    setup, tests = split_check(
        "X = 1\n\ndef check(candidate):\n    'doc'\n    import math\n"
        "    assert candidate(1) == 2\n    y = 3\n    assert candidate(y) == 4\n"
    )
    assert "def check" not in setup and "X = 1" in setup
    assert tests == (
        "import math\nassert candidate(1) == 2",
        "import math\ny = 3\nassert candidate(y) == 4",
    )


def test_checks_with_loops_count_as_one_test():
    source = "def check(candidate):\n    for i in range(3):\n        assert candidate(i) == i\n"
    setup, tests = split_check(source)
    assert tests == ("check(candidate)",)
    assert "def check" in setup


def test_most_humaneval_checks_split_into_many_tests():
    tasks = humaneval_tasks()
    single = [t for t in tasks if t.tests == ("check(candidate)",)]
    assert len(single) <= 6
    assert sum(len(t.tests) for t in tasks) > 1000


def test_generated_tasks_are_deterministic_and_cover_every_template():
    assert generated_task(5) == generated_task(5)
    names = {generated_task(seed).task_id.split("/")[1] for seed in range(200)}
    assert names == set(TEMPLATES)


@pytest.mark.parametrize("seed", range(30))
def test_generated_gold_passes_its_own_tests_locally(seed):
    task = generated_task(seed)
    namespace = {}
    exec(task.gold, namespace)
    for test in task.tests:
        exec(test, {"candidate": namespace[task.entry_point]})
    assert 3 <= len(task.tests) <= 6
