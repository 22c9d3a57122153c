"""256 sessions at once on one server, every episode the in-process one."""

from __future__ import annotations

import asyncio
import re

import envalign

SESSIONS = 256


def test_256_concurrent_sessions_each_play_their_own_correct_episode(serve, until) -> None:
    from openenv.core import GenericEnvClient

    server = serve("envalign/Arithmetic-v0", max_sessions=SESSIONS, env_kwargs={"high": 999})
    local = envalign.make("envalign/Arithmetic-v0", high=999)
    expected = [local.reset(seed=seed)[0] for seed in range(SESSIONS)]

    async def main() -> tuple[list[str], list[tuple[float, bool]], int]:
        clients = [GenericEnvClient(base_url=server.url, message_timeout_s=120) for _ in expected]
        await asyncio.gather(*(client.connect() for client in clients))
        firsts = await asyncio.gather(
            *(client.reset(seed=seed) for seed, client in enumerate(clients))
        )
        peak = server.hub.status()["sessions"]  # every session is open and mid-episode now

        async def answer(client: GenericEnvClient, question: str) -> tuple[float, bool]:
            a, b = map(int, re.findall(r"\d+", question)[:2])
            result = await client.step({"text": str(a + b)})
            return result.reward, result.done

        texts = [first.observation["text"] for first in firsts]
        results = await asyncio.gather(*(answer(c, t) for c, t in zip(clients, texts, strict=True)))
        await asyncio.gather(*(client.close() for client in clients))
        return texts, results, peak

    texts, results, peak = asyncio.run(asyncio.wait_for(main(), timeout=300))
    assert peak == SESSIONS
    assert texts == expected  # each session got the episode of its own seed
    assert results == [(1.0, True)] * SESSIONS
    assert until(lambda: server.hub.status()["sessions"] == 0, timeout=60)
