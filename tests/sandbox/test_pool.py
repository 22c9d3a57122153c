import asyncio

import pytest

from envalign.envs.errors import ConfigError, SandboxError
from envalign.sandbox import Limits, LocalSandbox, SandboxPool


@pytest.fixture(scope="module")
def pool(sandbox_image):
    with SandboxPool(size=2, image=sandbox_image, limits=Limits(wall_time_s=5)) as pool:
        yield pool


@pytest.mark.docker
def test_sessions_are_reset_between_episodes(pool) -> None:
    with pool.session() as box:
        box.run("open('state.txt', 'w').write('episode 1')")
        assert box.download("state.txt") == b"episode 1"
        first = box
    with pool.session() as box:
        seen = box.run("import os; print(sorted(os.listdir('.')))").stdout
        assert seen == "[]\n"
    assert first in pool._all


@pytest.mark.docker
def test_acquire_times_out_when_all_sessions_are_held(pool) -> None:
    held = [pool.acquire(), pool.acquire()]
    try:
        with pytest.raises(SandboxError, match="No sandbox session was free"):
            pool.acquire(timeout=0.2)
    finally:
        for box in held:
            pool.release(box)


@pytest.mark.docker
def test_broken_session_is_replaced_on_release(pool) -> None:
    box = pool.acquire()
    old_container = box.container_id
    box._container.kill()  # the container disappears under the session
    with pytest.raises(SandboxError, match="sandbox stopped"):
        box.run("print(1)")
    assert not box.healthy
    pool.release(box)
    with pool.session() as again:
        assert again.healthy and again.run("print(2)").stdout == "2\n"
        assert again.container_id != old_container


@pytest.mark.docker
def test_async_session(pool) -> None:
    async def main():
        async with pool.asession() as box:
            return await box.arun("print('async')")

    assert asyncio.run(main()).stdout == "async\n"


def test_pool_with_a_custom_factory_and_bad_arguments() -> None:
    with SandboxPool(size=2, factory=lambda: LocalSandbox(bubblewrap=False)) as pool:
        with pool.session() as box:
            assert box.run("print(3)").stdout == "3\n"
    with pytest.raises(SandboxError, match="closed"):
        pool.acquire()
    with pytest.raises(ConfigError):
        SandboxPool(size=0)
    with pytest.raises(ConfigError, match="backend"):
        SandboxPool(size=1, backend="vm")


def test_envalign_sandbox_picks_the_default_backend(monkeypatch) -> None:
    monkeypatch.setenv("ENVALIGN_SANDBOX", "local")
    with SandboxPool(size=1) as pool, pool.session() as box:
        assert isinstance(box, LocalSandbox)
        assert box.run("print(6*7)").stdout == "42\n"
    monkeypatch.setenv("ENVALIGN_SANDBOX", "podman")
    with pytest.raises(ConfigError, match="ENVALIGN_SANDBOX"):
        SandboxPool(size=1)
