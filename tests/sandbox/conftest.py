"""Fixtures of the sandbox tests: one warm session and one pool per module, no leaked container."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from envalign.sandbox import Limits


def our_containers() -> list:
    """Return this process's envalign sandbox containers (any state)."""
    import docker

    client = docker.from_env()
    labels = ["envalign.sandbox=1", f"envalign.owner_pid={os.getpid()}"]
    return client.containers.list(all=True, filters={"label": labels})


@pytest.fixture(scope="session")
def sandbox_image() -> str:
    """The default image, built once if missing (idempotent, safe in parallel)."""
    from envalign.sandbox.image import build_image

    return build_image(quiet=True)


@pytest.fixture(scope="module")
def box(sandbox_image: str) -> Iterator:
    """A warm Docker session shared by a module's tests (reset before each use by ``fresh``)."""
    from envalign.sandbox import DockerSandbox

    session = DockerSandbox(sandbox_image, Limits(wall_time_s=5, cpu_time_s=5))
    yield session
    session.close()


@pytest.fixture
def fresh(box):
    """The module's session, reset (no processes, empty work dir) and healthy."""
    box.reset()
    return box


@pytest.fixture(scope="session", autouse=True)
def no_leaked_containers(request: pytest.FixtureRequest) -> Iterator[None]:
    """After the sandbox tests, no container of this process may be left."""
    yield
    if any(item.get_closest_marker("docker") for item in request.session.items):
        import gc

        gc.collect()
        from envalign.sandbox.docker import _close_all

        _close_all()
        left = [c.name for c in our_containers()]
        assert not left, f"sandbox containers leaked: {left}"
