import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envalign.envs.errors import ConfigError
from envalign.sandbox import ExecResult, Limits, get_language, languages, register_language
from envalign.sandbox.base import decode_output, encode_files


def test_limits_defaults_are_sane() -> None:
    limits = Limits()
    assert 0 < limits.wall_time_s <= 60
    assert limits.memory_mb >= 64
    assert limits.output_bytes >= 1024


@pytest.mark.parametrize(
    "field, value",
    [
        ("wall_time_s", 0),
        ("cpu_time_s", -1),
        ("memory_mb", 8),
        ("processes", 1),
        ("output_bytes", "x"),
    ],
)
def test_limits_reject_values_that_cannot_work(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        Limits(**{field: value})


def test_limits_replace_validates_again() -> None:
    assert Limits().replace(wall_time_s=2).wall_time_s == 2
    with pytest.raises(ConfigError):
        Limits().replace(memory_mb=0)


def test_exec_result_ok_needs_clean_exit_within_limits() -> None:
    assert ExecResult("", "", 0).ok
    assert not ExecResult("", "", 1).ok
    assert not ExecResult("", "", 0, truncated=True).ok
    assert not ExecResult("", "", -9, timed_out=True).ok


def test_builtin_languages() -> None:
    assert {"python", "bash", "sql"} <= set(languages())
    assert get_language("python").fork_python
    assert "sqlite3" in get_language("sql").command


def test_register_language_and_errors() -> None:
    language = register_language("python-file", "prog.py", ["python3", "-I", "{file}"])
    assert get_language("python-file") == language
    with pytest.raises(ConfigError, match="register_language"):
        get_language("cobol")
    with pytest.raises(ConfigError, match="{file}"):
        register_language("bad", "x.sh", ["bash"])
    with pytest.raises(ConfigError):
        register_language("bad", "../x.sh", ["bash", "{file}"])


@pytest.mark.parametrize("path", ["/etc/passwd", "../x", "a/../../x", ""])
def test_encode_files_rejects_paths_outside_the_work_dir(path: str) -> None:
    with pytest.raises(ConfigError):
        encode_files({path: "x"})


def test_encode_files_encodes_text() -> None:
    assert encode_files({"a/b.txt": "é", "c": b"\x00"}) == {"a/b.txt": "é".encode(), "c": b"\x00"}


@given(st.binary())
def test_decode_output_never_fails_and_keeps_valid_utf8(data: bytes) -> None:
    text = decode_output(data)
    assert isinstance(text, str)
    try:
        assert text == data.decode("utf-8")
    except UnicodeDecodeError:
        assert "\ufffd" in text


def test_importing_the_package_does_not_import_docker() -> None:
    code = "import sys, envalign.sandbox; print('docker' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
