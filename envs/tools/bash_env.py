"""Bash-v0: solve a file-system task with shell commands, one per turn (InterCode-Bash style)."""

from __future__ import annotations

import functools
import json
import re
import shlex
from dataclasses import dataclass
from importlib import resources
from typing import Any

from envalign.envs.core import ActContext, TextEnv, read_action
from envalign.envs.info import step_info
from envalign.envs.tools.code_extract import extract_code
from envalign.envs.tools.sessions import LeaseHolder
from envalign.envs.tools.task_ids import pick_by_id

TASK_DIR = "task"
SHOWN_OUTPUT = 2_000
SUBMIT = re.compile(r"^\s*submit\b[:\s]*", re.IGNORECASE)

# Runs in the sandbox as ``python3 -I -S`` from ``/``: isolated mode and no ``site``, so nothing
# the agent planted in the work dir (a ``hashlib.py``, a ``.pth`` file in ~/.local) is imported.
# A digest of the task tree: paths, types, permission bits, contents of regular files.
DIGEST = r"""
import hashlib, json, os, stat
entries = {}
os.chdir("/work")
for root, dirs, files in os.walk("task"):
    dirs.sort()
    for name in sorted(dirs + files):
        path = os.path.join(root, name)
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            entries[path] = "link " + os.readlink(path)
        elif stat.S_ISDIR(info.st_mode):
            entries[path] = "dir %o" % stat.S_IMODE(info.st_mode)
        elif stat.S_ISREG(info.st_mode):
            with open(path, "rb") as handle:
                digest = hashlib.sha256(handle.read()).hexdigest()
            entries[path] = "file %o %s" % (stat.S_IMODE(info.st_mode), digest)
        else:
            entries[path] = "special %o" % info.st_mode
print(json.dumps(entries, sort_keys=True))
"""
DIGEST_COMMAND = f"cd / && exec /usr/bin/python3 -I -S -c {shlex.quote(DIGEST)}"


@dataclass(frozen=True)
class BashTask:
    """One task: a setup script, a question, a gold command and how success is checked.

    Attributes:
        id: ``<setup>/<n>``.
        setup: Bash script that builds ``task/`` in the work dir.
        question: What the agent must do or find out.
        gold: A command that solves it (run inside ``task/``).
        check: ``"answer"`` (the submitted answer must equal the gold command's output) or
            ``"state"`` (the task tree must end up as the gold command leaves it).
        ordered: For answers with several lines, whether their order matters.
    """

    id: str
    setup: str
    question: str
    gold: str
    check: str
    ordered: bool = True


@functools.cache
def bash_tasks() -> tuple[BashTask, ...]:
    """The tasks shipped in ``data/bash_tasks.json``."""
    text = resources.files("envalign.envs.tools").joinpath("data/bash_tasks.json").read_text()
    data = json.loads(text)
    return tuple(
        BashTask(**{**entry, "setup": data["setups"][entry["setup"]]}) for entry in data["tasks"]
    )


def normalize_answer(text: str, ordered: bool = True) -> list[str]:
    """Lines of an answer with runs of blanks collapsed and blank lines dropped.

    Numbers are written canonically (``"35.60"`` and ``"35.6"`` agree); unordered answers are
    sorted.
    """
    lines = [" ".join(line.split()) for line in text.replace("\r\n", "\n").split("\n")]
    lines = [_canonical_number(line) for line in lines if line]
    return lines if ordered else sorted(lines)


def _canonical_number(text: str) -> str:
    try:
        value = float(text)
    except ValueError:
        return text
    return repr(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def state_difference(got: dict[str, str], expected: dict[str, str]) -> str:
    """Describe how two task-tree digests differ (``""`` when equal)."""
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    changed = sorted(p for p in set(got) & set(expected) if got[p] != expected[p])
    parts = [
        f"{label}: {', '.join(paths[:5])}{' ...' if len(paths) > 5 else ''}"
        for label, paths in (("missing", missing), ("unexpected", extra), ("different", changed))
        if paths
    ]
    return "; ".join(parts)


class BashEnv(TextEnv):
    """Shell tasks in a sandboxed file system, one command per turn (InterCode-Bash style).

    ## Description
    Each episode picks one of the 63 shipped tasks (``envs/tools/data/bash_tasks.json``): a setup
    script builds a small file tree (logs, a CSV, a project, an inbox) under ``task/`` in the
    episode's sandbox session. Answer tasks ask for a fact (the gold command's output); state tasks
    ask for a change to the files (the tree must end up as the gold command leaves it).

    ## Observation
    The question, then the output (stdout and stderr, at most 2,000 characters) and exit code of
    the last command.

    ## Action
    A shell command (bare or in a ```bash block) run with bash inside ``task/``; files persist
    between commands, shell state (``cd``, variables) does not. ``submit <answer>`` ends the episode
    with an answer; ``submit`` alone ends it for a state task.

    ## Reward
    On submission: ``correct`` 1.0 when the answer matches the gold output (lines compared with
    blanks collapsed and numbers written canonically; in any order when the question allows) or
    the file tree matches the gold tree (paths, types, permission bits, contents). Otherwise 0.
    The gold output and the gold tree's digest are recorded at reset and kept in the
    environment's process; the sandbox is then rebuilt from the setup script, so no gold file or
    leftover is there for the agent. The final tree is read by ``python3 -I -S`` started from
    ``/``, which imports nothing from the agent's work dir.

    ## Termination
    On submission; truncated after ``max_turns`` actions.

    ## Arguments
    ``max_turns`` (10), ``command_timeout_s`` (5), ``sandbox`` (a ``Sandbox`` or ``SandboxPool``),
    ``render_mode``. ``reset(options={"task_id": "logs/3"})`` picks a task.
    """

    system_prompt = (
        "You solve tasks in a Linux shell. Reply with one bash command per turn; when done, reply "
        "'submit <answer>' (or just 'submit' when the task was to change files)."
    )

    def __init__(
        self,
        max_turns: int = 10,
        command_timeout_s: float = 5.0,
        sandbox: Any = None,
        render_mode: str | None = None,
        max_action_length: int = 4_096,
    ) -> None:
        super().__init__(render_mode=render_mode, max_action_length=max_action_length)
        self.tasks = bash_tasks()
        self.max_turns = max_turns
        self.command_timeout_s = command_timeout_s
        self.sessions = LeaseHolder(self, sandbox)
        self.task = self.tasks[0]
        self.turns = 0
        self.expected_answer = ""
        self.expected_state: dict[str, str] = {}

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Pick a task, build its files, and record what the gold command produces."""
        super().reset(seed=seed)
        wanted = (options or {}).get("task_id")
        if wanted is not None:
            self.task = pick_by_id(self.tasks, wanted, "task_id")
        else:
            self.task = self.tasks[int(self.np_random.integers(len(self.tasks)))]
        self.turns = 0
        self._prepare()
        observation = self._observation("Run a command, or reply 'submit <answer>'.")
        self.transcript = [observation]
        return observation, step_info(0.0, components={}, task_id=self.task.id)

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Run the command, or grade the submission."""
        self.turns += 1
        text, problem = read_action(action, self.max_action_length)
        submitted = text is not None and SUBMIT.match(text) is not None
        correct = False
        if problem:
            feedback = problem
        elif submitted:
            correct, feedback = self._grade(SUBMIT.sub("", text or "", count=1))
        else:
            command = extract_code(text or "", "bash")
            feedback = (
                self._run_command(command)
                if command.strip()
                else (
                    "Your reply contains no command. Reply with a bash command or 'submit <answer>'."
                )
            )
        terminated = submitted and not problem
        truncated = not terminated and self.turns >= self.max_turns
        reward = 1.0 if correct else 0.0
        self.transcript += [f"$ {str(action)[:500]}", feedback]
        info = step_info(
            reward,
            components={"correct": reward},
            feedback=feedback,
            task_id=self.task.id,
            metrics={"success": correct, "turns": self.turns},
        )
        return self._observation(feedback), reward, terminated, truncated, info

    def close(self) -> None:
        """Give the sandbox session back."""
        self.sessions.release()

    # ------------------------------------------------------------------ sandbox work

    def _prepare(self) -> None:
        lease = self.sessions.lease
        lease.sandbox.reset()
        self._shell(self.task.setup, inside=False)
        if self.task.check == "answer":
            self.expected_answer = self._shell(self.task.gold).stdout
            self.expected_state = {}
            return
        self._shell(self.task.gold)
        self.expected_state = self._digest()
        lease.sandbox.reset()
        self._shell(self.task.setup, inside=False)

    def _shell(self, command: str, inside: bool = True) -> Any:
        from envalign.sandbox import Limits

        script = f"cd {TASK_DIR} && {{\n{command}\n}}" if inside else command
        limits = Limits(wall_time_s=self.command_timeout_s, output_bytes=1 << 16)
        return self.sessions.lease.run(script, language="bash", limits=limits)

    def _digest(self) -> dict[str, str]:
        result = self.sessions.lease.run(DIGEST_COMMAND, language="bash")
        try:
            return dict(json.loads(result.stdout))
        except (json.JSONDecodeError, TypeError, ValueError):
            return {"<error>": result.stderr[-200:]}

    def _run_command(self, command: str) -> str:
        result = self._shell(command)
        output = (result.stdout + result.stderr)[:SHOWN_OUTPUT]
        notes = []
        if len(result.stdout) + len(result.stderr) > SHOWN_OUTPUT or result.truncated:
            notes.append("(output truncated)")
        if result.timed_out:
            notes.append(f"(stopped after {self.command_timeout_s:g}s)")
        notes.append(f"(exit code {result.exit_code})")
        return (output.rstrip("\n") + "\n" if output.strip() else "(no output)\n") + " ".join(notes)

    def _grade(self, answer: str) -> tuple[bool, str]:
        if self.task.check == "state":
            difference = state_difference(self._digest(), self.expected_state)
            if not difference:
                return True, "Submitted: the files are as required."
            return False, f"Submitted: the files are not as required ({difference})."
        ordered = self.task.ordered
        if normalize_answer(answer, ordered) == normalize_answer(self.expected_answer, ordered):
            return True, "Submitted: correct answer."
        if not answer.strip():
            return False, "Submitted without an answer; this task asks for one: 'submit <answer>'."
        return False, "Submitted: the answer is wrong."

    def _observation(self, last: str) -> str:
        kind = "Find the answer" if self.task.check == "answer" else "Change the files"
        return (
            f"Task ({kind}; your commands run in the directory 'task'): {self.task.question}\n\n"
            f"{last}\nTurn {self.turns}/{self.max_turns}."
        )


def scripted_policy(context: ActContext) -> str:
    """The oracle: submit the gold output, or run the gold command and then submit."""
    env = context.env
    if env.task.check == "answer":
        return f"submit {env.expected_answer}"
    return "submit" if env.turns > 0 else env.task.gold


RANDOM_COMMANDS = (
    "ls",
    "pwd",
    "cat nothing",
    "echo hi",
    "submit 42",
    "submit",
    "rm -rf /tmp/x",
    "find . | head",
    "true",
)


def random_policy(context: ActContext) -> str:
    """Run random commands and submit random answers."""
    return context.rng.choice(RANDOM_COMMANDS)
