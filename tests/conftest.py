"""Shared test configuration: markers for Docker and GPU tests.

``docker`` tests need a reachable engine. In CI (``CI=true``) a missing engine fails them; elsewhere
they are skipped with the reason. ``gpu`` tests are skipped without CUDA.
"""

from __future__ import annotations

import functools
import os
import time

import pytest


@functools.cache
def docker_problem() -> str | None:
    """Return why no Docker engine is usable, or None when one answers."""
    try:
        import docker

        client = docker.from_env(timeout=10)
        client.ping()
        client.close()
    except Exception as error:  # any failure means: no engine
        return f"no Docker engine reachable ({type(error).__name__}: {error})"
    return None


@functools.cache
def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("docker") is not None:
        problem = docker_problem()
        if problem is not None:
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(f"CI requires a Docker engine: {problem}", pytrace=False)
            pytest.skip(problem)
    if item.get_closest_marker("gpu") is not None and not cuda_available():
        pytest.skip("needs a CUDA GPU")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After the whole suite no envalign container of this run may be left behind."""
    if docker_problem() is not None:
        return
    import docker

    from envalign.envs.tools.sessions import close_shared_pool
    from envalign.sandbox.docker import LABEL, OWNER_PID_LABEL

    close_shared_pool()
    client = docker.from_env(timeout=30)
    deadline = time.monotonic() + 30
    leaked: list[str] = []
    while time.monotonic() < deadline:
        leaked = [
            container.name
            for container in client.containers.list(all=True, filters={"label": f"{LABEL}=1"})
            if container.labels.get(OWNER_PID_LABEL) == str(os.getpid())
        ]
        if not leaked:
            return
        time.sleep(0.5)  # auto-removal is asynchronous: poll until the deadline
    print(f"\nenvalign containers left after the test suite: {leaked}")
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def ray_address():
    """A local Ray cluster with 2 CPUs (reused if this process already joined one)."""
    ray = pytest.importorskip("ray", reason='ray is not installed: pip install "envalign[ray]"')
    started = not ray.is_initialized()
    if started:
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            log_to_driver=False,
            object_store_memory=100 * 2**20,
        )
    yield ray.get_runtime_context().gcs_address
    if started:
        ray.shutdown()
