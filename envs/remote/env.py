"""A ``gymnasium.Env`` whose episodes run on an OpenEnv server, through OpenEnv's own client.

``envalign.make("openenv:ws://127.0.0.1:8000")`` returns a :class:`RemoteEnv`. Against a server
started by ``envalign serve`` it is the same environment as in-process: same seeds, same text, same
``info`` (the server sends envalign's step info with every observation); in a game it plays the
seat the server gives this session. Against any other OpenEnv server it maps text to the server's
action schema (the one string field it requires, or a JSON object written as the action) and the
observation to text (its ``text`` field, or the observation as JSON), with ``info`` built from the
reward.
"""

from __future__ import annotations

import functools
import json
import threading
from typing import Any

import gymnasium

from envalign.envs.info import step_info
from envalign.envs.registry import EnvCard
from envalign.envs.remote import OPENENV_PREFIX
from envalign.envs.spaces import text_space
from envalign.errors import EnvalignError

#: Bound of a remote observation's text (the server's own bound is usually smaller).
MAX_OBSERVATION_LENGTH = 1 << 20
HTTP_TIMEOUT_S = 10.0


class RemoteEnvError(EnvalignError, RuntimeError):
    """The OpenEnv server cannot be reached, refused a message, or closed the session."""


def server_url(env_id: str) -> str:
    """``ws://host:port`` of an ``openenv:`` id (``http(s)://`` works too).

    Raises:
        RemoteEnvError: If the id holds no ws/http URL.
    """
    url = env_id[len(OPENENV_PREFIX) :] if env_id.startswith(OPENENV_PREFIX) else env_id
    if not url.startswith(("ws://", "wss://", "http://", "https://")):
        raise RemoteEnvError(
            f"'{env_id}' is not an OpenEnv address; write openenv:ws://HOST:PORT "
            "(e.g. openenv:ws://127.0.0.1:8000 for `envalign serve ID`)."
        )
    return url.rstrip("/")


def http_url(url: str) -> str:
    """The HTTP base URL of a ``ws://``/``http://`` server URL."""
    for ws, http in (("wss://", "https://"), ("ws://", "http://")):
        if url.startswith(ws):
            return http + url[len(ws) :]
    return url


def describe(url: str) -> dict[str, Any]:
    """What the server serves: ``GET /envalign`` from ``envalign serve``, else OpenEnv's schema.

    Raises:
        RemoteEnvError: If nothing answers at ``url``.
    """
    import requests

    base = http_url(url)
    try:
        answer = requests.get(f"{base}/envalign", timeout=HTTP_TIMEOUT_S)
        if answer.status_code == 200:
            return dict(answer.json())
        schema = requests.get(f"{base}/schema", timeout=HTTP_TIMEOUT_S)
        metadata = requests.get(f"{base}/metadata", timeout=HTTP_TIMEOUT_S)
    except (requests.RequestException, ValueError) as error:
        raise RemoteEnvError(
            f"No OpenEnv server answers at {url} ({type(error).__name__}); start one with "
            "`envalign serve ENV_ID --port PORT` or check the address."
        ) from None
    if schema.status_code != 200:
        raise RemoteEnvError(
            f"{url} answers, but not as an OpenEnv server (GET /schema: HTTP {schema.status_code})."
        )
    meta = metadata.json() if metadata.status_code == 200 else {}
    return {"envalign": False, "schema": schema.json(), "metadata": meta}


@functools.cache
def _described(env_id: str) -> dict[str, Any]:
    return describe(server_url(env_id))


def remote_card(env_id: str) -> EnvCard:
    """The catalog card of ``openenv:URL``: a single-agent environment built by :class:`RemoteEnv`.

    Against ``envalign serve`` it carries the served card's family, signals and description; the
    client plays one seat, so ``num_agents`` is 1. Its baselines (``scripted``, ``random``...) are
    the served ones, played on the server (:func:`server_baseline`), since scripted baselines read
    hidden state that stays there.
    """
    url = server_url(env_id)
    described = _described(env_id)
    if described.get("envalign"):
        served = described["card"]
        seat = ", ".join(described.get("open_seats", [])) or "agent"
        baselines = {*served.get("policies", ()), "random"}
        return EnvCard(
            id=env_id,
            entry_point=functools.partial(RemoteEnv, url),
            family=served["family"],
            num_agents=1,
            signals=tuple(served["signals"]),
            needs_docker=False,
            description=f"{served['id']} (seat {seat}) served at {url}: {served['description']}",
            tags=("openenv", *served.get("tags", ())),
            policies={name: functools.partial(server_baseline, name) for name in baselines},
            source=f"openenv server at {url}",
        )
    metadata = described.get("metadata", {})
    return EnvCard(
        id=env_id,
        entry_point=functools.partial(RemoteEnv, url),
        family="tool",
        num_agents=1,
        signals=("scalar",),
        needs_docker=False,
        description=f"OpenEnv environment {metadata.get('name', '?')} at {url}",
        tags=("openenv", "openenv-generic"),
        source=f"openenv server at {url}",
    )


def server_baseline(name: str, context: Any) -> str:
    """A baseline of a served environment: the server chooses the move in the client's place.

    The move goes as OpenEnv's step with ``metadata={"policy": name}``; the text returned here is
    only a placeholder for the record, and ``info["server_action"]`` holds the move played.
    """
    context.env.play_on_server(name)
    return f"[{name} on the server]"


class RemoteEnv(gymnasium.Env[str, str]):
    """An environment on an OpenEnv server, one WebSocket session per instance.

    Args:
        url: ``ws://HOST:PORT`` of the server.
        seat: In a served game with several client seats, the seat to ask for.
        table: In a served game, a table name: sessions with the same name and seed play together.
        render_mode: ``None`` or ``"ansi"`` (the episode's transcript).
        message_timeout_s: How long one reply may take (a game waits for the other seats).
        connect_timeout_s: How long opening the WebSocket may take.

    Raises:
        RemoteEnvError: If the server cannot be reached.
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        url: str,
        *,
        seat: str | None = None,
        table: str | None = None,
        render_mode: str | None = None,
        message_timeout_s: float | None = None,
        connect_timeout_s: float = 10.0,
    ) -> None:
        from openenv.core import GenericEnvClient

        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode={render_mode!r} is not supported; use 'ansi' or None.")
        self.url = server_url(url)
        self.render_mode = render_mode
        self.described = describe(self.url)
        self.envalign_server = bool(self.described.get("envalign"))
        self.system_prompt = str(self.described.get("system_prompt", ""))
        self.seat, self.table = seat, table
        max_action = int(self.described.get("max_action_length") or 0) or MAX_OBSERVATION_LENGTH
        self.max_action_length = max_action
        self.observation_space = text_space(MAX_OBSERVATION_LENGTH)
        self.action_space = text_space(max_action)
        self._action_field = None if self.envalign_server else _action_field(self.described)
        if message_timeout_s is None:  # a seat may wait for the others, each up to seat_timeout
            message_timeout_s = max(60.0, 2 * float(self.described.get("seat_timeout_s", 0)) + 30)
        self._client = GenericEnvClient(
            base_url=self.url,
            connect_timeout_s=connect_timeout_s,
            message_timeout_s=message_timeout_s,
        ).sync()
        self._lock = threading.Lock()
        self._server_policy: str | None = None
        self.agent = "agent"
        self.transcript: list[str] = []

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Start an episode on the server with ``seed``; ``options`` go with it."""
        super().reset(seed=seed)
        data: dict[str, Any] = {"seed": seed}
        if self.envalign_server:
            data.update({k: v for k, v in (("seat", self.seat), ("table", self.table)) if v})
            if options:
                data["options"] = options
        elif options:
            data.update(options)
        result = self._call(lambda: self._client.reset(**data))
        text, _, _, info = self._parse(result)
        self.transcript = [text]
        return text, info

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Send ``action``; return the server's observation, reward, ends and info."""
        payload: dict[str, Any] = (
            {"text": action} if self._action_field is None else self._payload(action)
        )
        if self._server_policy is not None:
            payload["metadata"] = {"policy": self._server_policy}
            self._server_policy = None
        result = self._call(lambda: self._client.step(payload))
        text, reward, truncated, info = self._parse(result)
        done = bool(result.done)
        self.transcript += [f"> {action}", text]
        return text, reward, done and not truncated, done and truncated, info

    def play_on_server(self, policy: str) -> None:
        """Let the server's baseline ``policy`` choose the next move (``envalign serve`` only).

        Raises:
            RemoteEnvError: Against a server that is not envalign's.
        """
        if not self.envalign_server:
            raise RemoteEnvError(f"{self.url} is not envalign's server; it plays no baselines.")
        self._server_policy = policy

    def render(self) -> str | None:  # type: ignore[override]
        """The episode so far as text when ``render_mode == "ansi"``."""
        return "\n".join(self.transcript) + "\n" if self.render_mode == "ansi" else None

    def close(self) -> None:
        """Close the session (the server frees its environment and sandbox)."""
        client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception:  # a connection already gone needs no goodbye
                pass

    def _call(self, operation: Any) -> Any:
        if self._client is None:
            raise RemoteEnvError(f"The session with {self.url} is closed.")
        with self._lock:
            try:
                return operation()
            except ConnectionError as error:
                raise RemoteEnvError(
                    f"Cannot reach the OpenEnv server at {self.url}: {error}"
                ) from None
            except RuntimeError as error:
                raise RemoteEnvError(f"{self.url}: {error}") from None
            except Exception as error:  # websockets' ConnectionClosed, timeouts
                raise RemoteEnvError(
                    f"The session with {self.url} failed ({type(error).__name__}: {error})."
                ) from None

    def _parse(self, result: Any) -> tuple[str, float, bool, dict[str, Any]]:
        observation = dict(result.observation or {})
        reward = float(result.reward) if result.reward is not None else 0.0
        if self.envalign_server:
            self.agent = str(observation.get("agent", self.agent))
            info = dict(observation.get("info", {}))
            return (
                str(observation.get("text", "")),
                reward,
                bool(observation.get("truncated")),
                info,
            )
        observation.pop("metadata", None)
        text = observation.get("text")
        if not isinstance(text, str):
            text = json.dumps(observation, ensure_ascii=False, default=str)
        info = step_info(reward, components={"reward": reward}, task_id="")
        info["observation"] = observation
        return text, reward, False, info

    def _payload(self, action: str) -> dict[str, Any]:
        if self._action_field:
            return {self._action_field: action}
        try:
            payload = json.loads(action)
        except json.JSONDecodeError:
            payload = None
        if not isinstance(payload, dict):
            raise RemoteEnvError(
                f"{self.url}'s actions are JSON objects ({self._action_schema_hint()}); "
                f"write the action as one, not {action[:60]!r}."
            )
        return payload

    def _action_schema_hint(self) -> str:
        properties = self.described.get("schema", {}).get("action", {}).get("properties", {})
        return "fields: " + ", ".join(sorted(properties))


def _action_field(described: dict[str, Any]) -> str | None:
    """The action's text field on a generic server: its one required string field, or ``""``."""
    action = described.get("schema", {}).get("action", {})
    properties = action.get("properties", {})
    strings = [
        name
        for name in action.get("required", [])
        if properties.get(name, {}).get("type") == "string"
    ]
    if len(strings) == 1 and len(action.get("required", [])) == 1:
        return strings[0]
    return ""
