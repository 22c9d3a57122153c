import pytest

from envalign.cli import main
from envalign.sandbox.doctor import diagnose

pytestmark = pytest.mark.docker


def test_every_isolation_check_passes(sandbox_image) -> None:
    checks = diagnose(sandbox_image)
    failed = [(c.name, c.detail) for c in checks if not c.ok]
    assert not failed
    names = {c.name for c in checks}
    assert {
        "no network (TCP)",
        "read-only root",
        "capabilities dropped",
        "non-root user",
        "memory limit",
        "pids limit",
        "work dir size-bounded",
    } <= names


def test_missing_image_is_reported_with_the_fix() -> None:
    checks = diagnose("envalign-sandbox:missing")
    assert not checks[-1].ok and "build-image" in checks[-1].detail


def test_cli_gc_and_build_image(sandbox_image, capsys) -> None:
    assert main(["sandbox", "build-image"]) == 0
    assert sandbox_image in capsys.readouterr().out
    assert main(["sandbox", "gc"]) == 0
    assert "removed" in capsys.readouterr().out
