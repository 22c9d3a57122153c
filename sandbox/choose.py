"""Pick the sandbox backend: Docker whenever an engine answers, otherwise local (loudly)."""

from __future__ import annotations

import functools
from typing import Any

from envalign.sandbox.base import Limits, Sandbox


@functools.cache
def docker_available() -> bool:
    """Return True when the docker SDK is installed and an engine answers a ping."""
    try:
        from envalign.sandbox.image import docker_client

        docker_client(timeout=10).close()
    except Exception:  # no SDK, no engine: both mean "not available"
        return False
    return True


def default_sandbox(limits: Limits | None = None, **options: Any) -> Sandbox:
    """Return a Docker session when an engine is reachable, else a local one with a warning.

    Args:
        limits: Default limits of each run.
        **options: Keyword arguments for the backend's constructor.

    Raises:
        SandboxUnavailable: If an engine answers but the image is missing (the message says
            to run ``envalign sandbox build-image``); never falls back silently then.
    """
    if docker_available():
        from envalign.sandbox.docker import DockerSandbox

        return DockerSandbox(limits=limits, **options)
    from envalign.sandbox.local import LocalSandbox

    return LocalSandbox(limits, **options)
