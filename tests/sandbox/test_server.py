"""Pure parts of the in-container server (the rest runs in tests/sandbox/test_docker.py)."""

import ast
import os
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envalign.sandbox import server

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=60)
@given(st.dictionaries(st.text(), json_values, max_size=5))
def test_message_framing_round_trips(message) -> None:
    read_fd, write_fd = os.pipe()
    try:
        server.write_message(write_fd, message)
        assert server.read_message(read_fd) == message
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_read_message_at_end_of_file_is_none() -> None:
    read_fd, write_fd = os.pipe()
    os.close(write_fd)
    assert server.read_message(read_fd) is None
    os.close(read_fd)


@pytest.mark.parametrize("code, status", [(None, 0), (3, 3), (256 + 4, 4), ("message", 1)])
def test_exit_status(code, status) -> None:
    assert server.exit_status(code) == status


@pytest.mark.parametrize("path", ["../etc/passwd", "/etc/passwd", "a/../../x"])
def test_safe_path_refuses_to_leave_the_work_dir(path) -> None:
    with pytest.raises(ValueError):
        server.safe_path(path)


def test_safe_path_inside() -> None:
    assert server.safe_path("a/b.txt") == "/work/a/b.txt"


def test_server_is_stdlib_only() -> None:
    tree = ast.parse(open(server.__file__).read())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert imported and imported <= sys.stdlib_module_names
