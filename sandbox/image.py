"""Build the default sandbox image: python3, sqlite3, bash and coreutils, a non-root user.

Two ways, tried in this order by :func:`build_image`:

* ``registry``: ``FROM python:3.12-slim`` plus sqlite3, where a container registry answers;
* ``debootstrap``: a Debian ``minbase`` root filesystem made on this machine with ``debootstrap``
  (needs root and a reachable Debian mirror, nothing else) and loaded with ``docker import``.

The tag carries the envalign version and an image revision, e.g. ``envalign-sandbox:0.1.0-1``.
The execution server is not baked in (it is passed at container start), so the image only has to
provide ``python3``. Building is idempotent and safe when two processes call it at once.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from envalign.errors import ConfigError, SandboxUnavailable

IMAGE_NAME = "envalign-sandbox"
IMAGE_REVISION = 1
SANDBOX_UID = 1000
SUITE = "bookworm"
REGISTRY_BASE = "python:3.12-slim"
LABELS = {"envalign.sandbox.image": "1"}

_DOCKERFILE = f"""\
FROM {REGISTRY_BASE}
RUN apt-get update && apt-get install -y --no-install-recommends sqlite3 \\
    && rm -rf /var/lib/apt/lists/* \\
    && groupadd -g {SANDBOX_UID} sandbox \\
    && useradd -u {SANDBOX_UID} -g {SANDBOX_UID} -d /work -s /bin/bash sandbox \\
    && mkdir -p /work && chown sandbox:sandbox /work
USER {SANDBOX_UID}:{SANDBOX_UID}
WORKDIR /work
ENV LANG=C.UTF-8
CMD ["python3"]
"""

_IMPORT_CHANGES = [
    f"USER {SANDBOX_UID}:{SANDBOX_UID}",
    "WORKDIR /work",
    "ENV PATH=/usr/local/bin:/usr/bin:/bin",
    "ENV LANG=C.UTF-8",
    'CMD ["python3"]',
]


def default_image() -> str:
    """Return the versioned tag of the default image, e.g. ``envalign-sandbox:0.1.0-1``."""
    from envalign import __version__

    return f"{IMAGE_NAME}:{__version__}-{IMAGE_REVISION}"


def docker_client(timeout: int = 60) -> Any:
    """Return a Docker SDK client for the engine of the environment.

    Raises:
        SandboxUnavailable: If the ``docker`` package is missing or no engine answers.
    """
    try:
        import docker
    except ImportError as error:  # a dependency of envalign, but one can remove it
        raise SandboxUnavailable(
            "The docker Python package is missing; reinstall it with `pip install 'docker>=7'`."
        ) from error
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except Exception as error:
        raise SandboxUnavailable(
            f"No Docker engine is reachable ({type(error).__name__}: {error}). Start a Docker "
            "engine (e.g. `sudo systemctl start docker`) or set DOCKER_HOST; without one, use "
            "envalign.sandbox.LocalSandbox (weaker isolation)."
        ) from error
    return client


def image_exists(client: Any, tag: str) -> bool:
    """Return True when the engine holds image ``tag``."""
    import docker.errors

    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def build_image(
    tag: str | None = None, *, force: bool = False, method: str = "auto", quiet: bool = False
) -> str:
    """Build the sandbox image unless it exists already.

    Args:
        tag: Image tag; defaults to :func:`default_image`.
        force: Rebuild even when the image exists.
        method: ``auto`` (registry when reachable, else debootstrap), ``registry`` or
            ``debootstrap``.
        quiet: Print no progress.

    Returns:
        The tag of the ready image.

    Raises:
        ConfigError: If ``method`` is unknown.
        SandboxUnavailable: If no method can build the image here (the message says why).
    """
    if method not in ("auto", *_BUILDERS):
        raise ConfigError(f"Unknown build method {method!r}; use auto, registry or debootstrap.")
    tag = tag or default_image()
    client = docker_client(timeout=600)
    say = (lambda message: None) if quiet else (lambda message: print(message, file=sys.stderr))
    with _build_lock():
        if image_exists(client, tag) and not force:
            return tag
        errors = []
        methods = ["registry", "debootstrap"] if method == "auto" else [method]
        for name in methods:
            try:
                say(f"building {tag} ({name})...")
                _BUILDERS[name](client, tag)
                return tag
            except SandboxUnavailable as error:
                errors.append(f"{name}: {error}")
                say(f"{name} build failed: {error}")
    raise SandboxUnavailable("Cannot build the sandbox image. " + " | ".join(errors))


@contextlib.contextmanager
def _build_lock() -> Iterator[None]:
    """Hold a machine-wide file lock so that concurrent builds do not race."""
    import fcntl

    lock_dir = Path(tempfile.gettempdir())
    with open(lock_dir / "envalign-sandbox-image.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build_from_registry(client: Any, tag: str) -> None:
    """Build from ``python:3.12-slim``; fails fast where no registry is reachable."""
    import docker.errors

    try:
        client.images.pull(REGISTRY_BASE)
    except docker.errors.APIError as error:
        raise SandboxUnavailable(f"cannot pull {REGISTRY_BASE}: {error.explanation}") from error
    try:
        client.images.build(
            fileobj=io.BytesIO(_DOCKERFILE.encode()), tag=tag, rm=True, labels=LABELS
        )
    except docker.errors.DockerException as error:
        raise SandboxUnavailable(f"docker build failed: {error}") from error


def _build_with_debootstrap(client: Any, tag: str) -> None:
    """Make a minbase root filesystem with debootstrap and ``docker import`` it."""
    if shutil.which("debootstrap") is None:
        raise SandboxUnavailable("debootstrap is not installed (apt-get install debootstrap)")
    if os.geteuid() != 0:
        raise SandboxUnavailable("debootstrap needs root; run `sudo envalign sandbox build-image`")
    with tempfile.TemporaryDirectory(prefix="envalign-rootfs-") as scratch:
        root = Path(scratch) / "rootfs"
        command = [
            "debootstrap",
            "--variant=minbase",
            "--include=python3,sqlite3",
            SUITE,
            str(root),
        ]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise SandboxUnavailable(f"debootstrap failed: {done.stderr.strip()[-800:]}")
        _prepare_rootfs(root)
        archive = Path(scratch) / "rootfs.tar"
        with tarfile.open(archive, "w") as tar:
            tar.add(root, arcname=".")
        repository, _, version = tag.rpartition(":")
        client.api.import_image_from_file(
            str(archive), repository=repository, tag=version, changes=_IMPORT_CHANGES
        )
    if not image_exists(client, tag):
        raise SandboxUnavailable(f"docker import did not produce {tag}")


def _prepare_rootfs(root: Path) -> None:
    """Add the sandbox user and the work dir, and drop caches the image does not need."""
    with open(root / "etc/passwd", "a") as passwd:
        passwd.write(f"sandbox:x:{SANDBOX_UID}:{SANDBOX_UID}:sandbox:/work:/bin/bash\n")
    with open(root / "etc/group", "a") as group:
        group.write(f"sandbox:x:{SANDBOX_UID}:\n")
    work = root / "work"
    work.mkdir(exist_ok=True)
    os.chown(work, SANDBOX_UID, SANDBOX_UID)
    for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for entry in (root / cache).glob("*.deb"):
            entry.unlink()
        for entry in (root / cache).glob("*_Packages"):
            entry.unlink()


_BUILDERS = {"registry": _build_from_registry, "debootstrap": _build_with_debootstrap}
