"""The execution server that runs inside each sandbox container (stdlib only, any Python 3.8+).

It is the container's main process (under Docker's init, which reaps orphans) and talks to the
host over its stdin/stdout with length-prefixed JSON (4-byte big-endian length, then UTF-8 JSON).
Each ``run`` request starts one execution as its own session and process group with its rlimits:
Python code runs in a fork of this warm interpreter (no interpreter start), other languages are
forked and exec'd. When the execution's main process ends, or its wall time or output budget is
spent, every other process of the container except init and this server is killed, so nothing
outlives the run. Binary data (files, stdin, output) travels as base64.

This file is sent to the container at start (``python3 -I -c <source>``), never imported on the
host during a run. It is one file on purpose (it travels whole), hence its length.
"""

import atexit
import base64
import io
import json
import linecache
import math
import os
import resource
import select
import signal
import stat
import struct
import sys
import time
import traceback

WORK = "/work"
SCRATCH = "/tmp/.envalign-run"  # source files of non-Python runs
CLEAN_DIRS = ("/tmp", "/dev/shm", "/dev/mqueue")  # POSIX message queues live in /dev/mqueue
CHILD_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": WORK,
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
}
MEMORY_ERROR_MARK = b"M"
PR_SET_DUMPABLE = 4
IGNORED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGXFSZ)
IPC_RMID = 0
#: /proc listing of each SysV IPC kind -> the libc call that removes one object by id.
SYSV_IPC = (("shm", "shmctl"), ("sem", "semctl"), ("msg", "msgctl"))


#: The server's own rlimits at start. Code runs as the same user, so it may prlimit(2) PID 1:
#: they are put back after each run, and a lowered hard limit (which only root could raise
#: again) makes the server report itself broken, so the host replaces the container.
SERVER_LIMITS = {
    name: resource.getrlimit(getattr(resource, name))
    for name in dir(resource)
    if name.startswith("RLIMIT_")
}
SERVER_NICENESS = os.getpriority(os.PRIO_PROCESS, 0)
SERVER_SCHEDULER = os.sched_getscheduler(0)
#: Why the server can no longer promise a clean run (None while it can).
broken: "list[str]" = []


def restore_limits():
    """Put back the server's rlimits if code changed them; note the server broken if it cannot."""
    for name, (soft, hard) in SERVER_LIMITS.items():
        kind = getattr(resource, name)
        if resource.getrlimit(kind) == (soft, hard):
            continue
        try:
            resource.setrlimit(kind, (soft, hard))
        except (OSError, ValueError):
            if f"{name} lowered" not in broken:
                broken.append(f"{name} lowered")
    if os.getpriority(os.PRIO_PROCESS, 0) != SERVER_NICENESS and "niceness raised" not in broken:
        broken.append("niceness raised")
    if os.sched_getscheduler(0) != SERVER_SCHEDULER and "scheduler changed" not in broken:
        broken.append("scheduler changed")  # e.g. SCHED_IDLE: the run limits would slip


def set_dumpable(dumpable):
    """Set the process's dumpable flag (``prctl``); best effort.

    The server is not dumpable, so that code running as the same user can neither ptrace it
    nor open its descriptors through ``/proc`` (and forge answers to the host). Children make
    themselves dumpable again once they hold none of the server's descriptors.
    """
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, int(dumpable), 0, 0, 0)
    except (ImportError, OSError, AttributeError):
        pass


def read_exact(fd, size):
    """Read exactly ``size`` bytes from ``fd``; return b"" at end of file."""
    chunks = []
    while size:
        chunk = os.read(fd, size)
        if not chunk:
            return b""
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def write_message(fd, message):
    """Write one length-prefixed JSON message."""
    data = json.dumps(message).encode()
    view = memoryview(struct.pack(">I", len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def read_message(fd):
    """Read one length-prefixed JSON message; None at end of file."""
    header = read_exact(fd, 4)
    if not header:
        return None
    return json.loads(read_exact(fd, struct.unpack(">I", header)[0]))


# ---------------------------------------------------------------- processes


def other_processes():
    """Return the live pids of the container other than init and this server."""
    me = os.getpid()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in (1, me):
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as status_file:
                state = status_file.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in (b"Z", b"X"):
            pids.append(int(entry))
    return pids


def kill_everything(deadline_s=3.0, keep=None):
    """SIGKILL every process except this server (PID 1) until none is left (fork bombs too).

    Zombies are reaped on the way (the server is the container's init), except ``keep``: the
    execution's own child, whose exit status the execution still has to read.
    """
    restore_limits()
    end = time.monotonic() + deadline_s
    while True:
        try:
            reap_zombies(keep)
            if not other_processes() or time.monotonic() > end:
                return
        except OSError:  # no descriptor to list /proc with: kill blindly, for the deadline
            if time.monotonic() > end:
                return
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
        time.sleep(0.001)


def reap_zombies(keep=None):
    """Collect every exited child of this server but ``keep`` (orphans are adopted by PID 1)."""
    for entry in listing("/proc"):
        if not entry.isdigit() or int(entry) == keep:
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as status_file:
                state = status_file.read().rsplit(b")", 1)[1].split()[0]
            if state == b"Z":
                os.waitpid(int(entry), os.WNOHANG)
        except (OSError, IndexError):
            continue


def remove_sysv_ipc():
    """Remove every SysV shared memory segment, semaphore set and message queue of the container.

    They outlive the processes that made them, so without this a run could leave a message for a
    later run (or a later episode on the same pooled container). Every process is dead by now.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
    except (ImportError, OSError):
        return
    for kind, remover in SYSV_IPC:
        try:
            with open(f"/proc/sysvipc/{kind}") as listing:
                rows = listing.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 1 and fields[1].isdigit():
                if kind == "sem":
                    getattr(libc, remover)(int(fields[1]), 0, IPC_RMID)
                else:
                    getattr(libc, remover)(int(fields[1]), IPC_RMID, None)


def empty_dir(path, keep=None):
    """Delete the content of ``path`` (not the directory itself); ``keep`` is only emptied.

    Directories that code made unreadable (``chmod 000``) are opened up first. What cannot be
    deleted stays; :func:`leftovers` tells, and the server then reports itself broken.
    """
    for name in listing(path):
        full = os.path.join(path, name)
        if full == keep and os.path.isdir(full) and not os.path.islink(full):
            open_up(full)
            empty_dir(full)
            continue
        try:
            if os.path.isdir(full) and not os.path.islink(full):
                remove_tree(full)
            else:
                os.unlink(full)
        except OSError:
            pass


def listing(path):
    """The names in ``path``, or none when it cannot be listed."""
    try:
        return os.listdir(path)
    except OSError:
        return []


def open_up(path):
    """Give the owner back every right on a directory (best effort)."""
    try:
        os.chmod(path, 0o700)
    except OSError:
        pass


def remove_tree(root):
    """Delete a directory tree without recursion, opening up the directories on the way."""
    stack = [(root, False)]
    while stack:
        path, emptied = stack.pop()
        if emptied:
            try:
                os.rmdir(path)
            except OSError:
                pass
            continue
        open_up(path)
        stack.append((path, True))
        for name in listing(path):
            full = os.path.join(path, name)
            if os.path.isdir(full) and not os.path.islink(full):
                stack.append((full, False))
            else:
                try:
                    os.unlink(full)
                except OSError:
                    pass


def leftovers(path, keep=None):
    """What is left in ``path`` (``keep`` counted only if not an empty directory)."""
    left = []
    for name in listing(path):
        full = os.path.join(path, name)
        if full == keep and os.path.isdir(full) and not os.path.islink(full):
            left += [os.path.join(full, inner) for inner in listing(full)]
        else:
            left.append(full)
    return left


def oom_kills():
    """Return the memory cgroup's OOM-kill count (cgroup v1 or v2), or -1 if unknown."""
    for path, key in (
        ("/sys/fs/cgroup/memory/memory.oom_control", "oom_kill"),
        ("/sys/fs/cgroup/memory.events", "oom_kill"),
    ):
        try:
            with open(path) as handle:
                for line in handle:
                    name, _, value = line.partition(" ")
                    if name == key:
                        return int(value)
        except OSError:
            continue
    return -1


# ---------------------------------------------------------------- files


def safe_path(relative):
    """Return the absolute path of ``relative`` inside the work dir, or raise ValueError."""
    path = os.path.realpath(os.path.join(WORK, relative))
    if path != WORK and not path.startswith(WORK + "/"):
        raise ValueError(f"path {relative!r} leaves the work dir")
    return path


def write_files(files):
    """Write base64-encoded files into the work dir."""
    for relative, encoded in (files or {}).items():
        path = safe_path(relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.lexists(path) and not stat_is_regular(os.lstat(path)):
            raise ValueError(f"{relative!r} exists and is not a regular file")
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_NONBLOCK
        descriptor = os.open(path, flags, 0o644)
        with open(descriptor, "wb") as handle:
            if not stat_is_regular(os.fstat(descriptor)):
                raise ValueError(f"{relative!r} exists and is not a regular file")
            handle.write(base64.b64decode(encoded))


def read_file(relative):
    """Return the bytes of a regular file of the work dir; never blocks (FIFOs, devices)."""
    path = safe_path(relative)
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except IsADirectoryError:
        raise ValueError(f"{relative!r} is a directory, not a file") from None
    with open(descriptor, "rb") as handle:
        if not stat_is_regular(os.fstat(descriptor)):
            raise ValueError(f"{relative!r} is not a regular file (a FIFO, socket or device)")
        return handle.read()


def stat_is_regular(status):
    """Whether an ``os.stat_result`` is a regular file."""
    return stat.S_ISREG(status.st_mode)


# ---------------------------------------------------------------- the child


def set_limits(limits):
    """Apply the execution's rlimits to the current (child) process."""
    cpu = max(1, int(math.ceil(limits["cpu_time_s"])))
    memory = int(limits["memory_mb"]) << 20
    file_size = int(limits["file_size_mb"]) << 20
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def prepare_child(stdin_fd, stdout_fd, stderr_fd, keep_fds):
    """Turn a freshly forked process into a clean, detached child waiting for its code."""
    os.setsid()
    for number in (signal.SIGCHLD, signal.SIGPIPE, signal.SIGXFSZ) + IGNORED_SIGNALS:
        signal.signal(number, signal.SIG_DFL)
    signal.set_wakeup_fd(-1)
    os.dup2(stdin_fd, 0)
    os.dup2(stdout_fd, 1)
    os.dup2(stderr_fd, 2)
    low = 3
    for fd in sorted(keep_fds):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 65536)
    set_dumpable(True)  # no descriptor of the server is left to protect
    try:
        with open("/proc/self/oom_score_adj", "w") as handle:
            handle.write("1000")  # the OOM killer takes the execution, never the server
    except OSError:
        pass
    os.chdir(WORK)
    os.environ.clear()
    os.environ.update(CHILD_ENV)


class Zygote:
    """A child forked ahead of time, waiting on a pipe for the code it will run.

    Forking (and the set-up above) happens between runs, off the latency path; a run only
    writes its request into the pipe.
    """

    def __init__(self):
        in_r, self.stdin_fd = os.pipe()
        self.out_r, out_w = os.pipe()
        self.err_r, err_w = os.pipe()
        self.status_r, status_w = os.pipe()
        control_r, self.control_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            try:
                prepare_child(in_r, out_w, err_w, (status_w, control_r))
                self.serve_one(control_r, status_w)
            except BaseException as error:
                os.write(2, (f"sandbox: cannot start: {error}\n").encode())
            os._exit(127)
        for fd in (in_r, out_w, err_w, status_w, control_r):
            os.close(fd)

    def serve_one(self, control_r, status_w):
        """In the child: read the request, apply its limits and run it; never returns."""
        prepare_python()
        request = read_message(control_r)
        os.close(control_r)
        if request is None:
            os._exit(0)
        set_limits(request["limits"])
        language, path = request["language"], request["path"]
        if language["fork_python"]:
            run_python_in_child(request["code"], path, status_w)
        argv = [part.replace("{file}", path) for part in language["command"]]
        os.execvpe(argv[0], argv, CHILD_ENV)

    def launch(self, request):
        """Hand the request to the waiting child; False if the child is gone."""
        try:
            write_message(self.control_w, request)
            return True
        except OSError:
            return False
        finally:
            os.close(self.control_w)

    def discard(self):
        """Kill an unused child and close its pipes."""
        for fd in (self.stdin_fd, self.out_r, self.err_r, self.status_r, self.control_w):
            os.close(fd)
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except OSError:
            pass


def prepare_python():
    """Set up the interpreter for user code before the code arrives.

    Run in the waiting child, so that the copy-on-write page faults this first touch of the
    interpreter's objects causes are paid between runs, not during one.
    """
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8")
    sys.stderr = io.TextIOWrapper(
        io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="backslashreplace"
    )
    sys.stderr.reconfigure(line_buffering=True)
    sys.path[0] = WORK
    exec(compile("_ = [str(n) for n in range(3)]", "<warm-up>", "exec"), {})
    json.loads('{"warm": [1, "up"]}')


def run_python_in_child(code, path, status_fd):
    """Execute Python source in this prepared, forked interpreter, then exit; never returns."""
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # what a fresh interpreter does
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # so a too-large file is an OSError
    sys.argv = [path]
    linecache.cache[path] = (len(code), None, code.splitlines(True), path)
    status = 0
    namespace = {"__name__": "__main__", "__file__": path, "__builtins__": __builtins__}
    try:
        exec(compile(code, path, "exec"), namespace)
    except SystemExit as stop:
        status = exit_status(stop.code)
    except BaseException as error:
        if isinstance(error, MemoryError):
            os.write(status_fd, MEMORY_ERROR_MARK)
        traceback.print_exception(type(error), error, error.__traceback__.tb_next)
        status = 1
    status = finish_python(status)
    os._exit(status)


def exit_status(code):
    """Translate ``SystemExit.code`` into an exit status, printing a message if it is one."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def finish_python(status):
    """Run what interpreter shutdown would run: thread joins, atexit handlers, flushes."""
    try:
        # The server does not import threading (it makes every fork slower); join the
        # threads of code that did.
        threading = sys.modules.get("threading")
        if threading is not None:
            threading._shutdown()
        atexit._run_exitfuncs()
    except BaseException:
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            status = status or 120
    return status


# ---------------------------------------------------------------- one execution


class Execution:
    """One run: fork the child, pump its pipes, enforce wall time and output size, collect."""

    def __init__(self, request, wakeup_fd, oom_before):
        self.request = request
        self.oom_before = self.oom_after = oom_before
        self.limits = request["limits"]
        self.wakeup_fd = wakeup_fd
        self.output = {"stdout": bytearray(), "stderr": bytearray()}
        self.budget = int(self.limits["output_bytes"])
        self.timed_out = False
        self.truncated = False
        self.status = None
        self.rusage = None

    def start(self, zygote):
        """Give the request to the pre-forked child ``zygote``."""
        language = self.request["language"]
        path = os.path.join(SCRATCH, language["file_name"])
        if not language["fork_python"]:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(self.request["code"])
        stdin_data = base64.b64decode(self.request.get("stdin") or "")
        self.started = time.monotonic()
        self.pid = zygote.pid
        zygote.launch(
            {
                "code": self.request["code"],
                "language": language,
                "limits": self.limits,
                "path": path,
            }
        )
        self.status_fd = zygote.status_r
        self.pending_stdin = memoryview(stdin_data)
        self.readers = {zygote.out_r: "stdout", zygote.err_r: "stderr"}
        self.stdin_fd = zygote.stdin_fd
        if not stdin_data:
            os.close(self.stdin_fd)
            self.stdin_fd = None
        else:
            os.set_blocking(self.stdin_fd, False)

    def pump(self):
        """Move data until the child and its pipes are done, enforcing the limits."""
        deadline = self.started + float(self.limits["wall_time_s"])
        while True:
            self.check_child()
            if self.status is not None and not self.readers:
                return
            if self.status is not None and self.readers and not self.killed_rest:
                self.killed_rest = True
                kill_everything(keep=self.pid)  # background processes still hold the pipes
            remaining = deadline - time.monotonic()
            if remaining <= 0 and not self.timed_out and self.status is None:
                self.timed_out = True
                self.stop_all()
                continue
            writers = [self.stdin_fd] if self.stdin_fd is not None else []
            timeout = max(remaining, 0) if self.status is None else 1.0
            readable, writable, _ = select.select(
                list(self.readers) + [self.wakeup_fd], writers, [], timeout
            )
            for fd in readable:
                if fd == self.wakeup_fd:
                    os.read(fd, 512)
                    if self.status is None:
                        reap_zombies(keep=self.pid)  # orphans of the run, adopted by PID 1
                else:
                    self.read_from(fd)
            if writable:
                self.feed_stdin()
            if self.status is not None and not readable and self.readers:
                self.close_readers()  # nothing more can come: every writer is dead

    killed_rest = False

    def stop_all(self):
        """Kill the execution: the child and every other process of the container."""
        self.killed_rest = True
        kill_everything(keep=self.pid if self.status is None else None)

    def check_child(self):
        """Reap the child if it has exited."""
        if self.status is not None:
            return
        pid, status, rusage = os.wait4(self.pid, os.WNOHANG)
        if pid:
            self.status, self.rusage = status, rusage
            self.duration = time.monotonic() - self.started

    def read_from(self, fd):
        """Read a chunk from one output pipe into its bounded buffer."""
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            os.close(fd)
            del self.readers[fd]
            return
        if self.truncated:
            return
        take = chunk[: self.budget]
        self.output[self.readers[fd]] += take
        self.budget -= len(take)
        if len(take) < len(chunk) or self.budget <= 0:
            self.truncated = True
            self.stop_all()

    def feed_stdin(self):
        """Write pending stdin data without blocking; close stdin when all is written."""
        try:
            written = os.write(self.stdin_fd, self.pending_stdin[:65536])
            self.pending_stdin = self.pending_stdin[written:]
        except OSError:
            self.pending_stdin = self.pending_stdin[:0]
        if not self.pending_stdin:
            os.close(self.stdin_fd)
            self.stdin_fd = None

    def close_readers(self):
        """Close the output pipes."""
        for fd in list(self.readers):
            os.close(fd)
        self.readers.clear()

    def result(self):
        """Return the response message of this execution."""
        kill_everything()
        if self.stdin_fd is not None:
            os.close(self.stdin_fd)
        os.set_blocking(self.status_fd, False)
        try:
            marks = os.read(self.status_fd, 16)
        except OSError:
            marks = b""
        os.close(self.status_fd)
        status = self.status
        signalled = os.WIFSIGNALED(status)
        exit_code = -os.WTERMSIG(status) if signalled else os.WEXITSTATUS(status)
        cpu_used = self.rusage.ru_utime + self.rusage.ru_stime
        cpu_limit_hit = exit_code == -signal.SIGXCPU or (
            exit_code == -signal.SIGKILL and cpu_used >= float(self.limits["cpu_time_s"]) - 0.05
        )
        # The cgroup's OOM-kill count can only move when something was SIGKILLed.
        oom_after = oom_kills() if exit_code == -signal.SIGKILL else self.oom_before
        oom = MEMORY_ERROR_MARK in marks or (oom_after > self.oom_before >= 0)
        self.oom_after = oom_after
        return {
            "ok": True,
            "stdout": base64.b64encode(bytes(self.output["stdout"])).decode(),
            "stderr": base64.b64encode(bytes(self.output["stderr"])).decode(),
            "exit_code": exit_code,
            "timed_out": self.timed_out or cpu_limit_hit,
            "cpu_s": round(cpu_used, 3),
            "oom_killed": bool(oom) and not self.timed_out,
            "truncated": self.truncated,
            "duration_s": round(self.duration, 6),
        }


class Server:
    """Answers the host's requests; keeps one zygote ready for the next run."""

    def __init__(self, wakeup_fd):
        self.wakeup_fd = wakeup_fd
        self.zygote = None
        self.oom_count = oom_kills()

    def ready(self):
        """Clean up after the last run and fork the next zygote, unless the server is broken."""
        if self.zygote is not None or broken:
            return
        restore_limits()
        open_up(WORK)  # code may have taken its own rights on the work dir away
        for directory in CLEAN_DIRS:
            empty_dir(directory, keep=SCRATCH)
            if leftovers(directory, keep=SCRATCH):
                broken.append(f"{directory} cannot be emptied")
        remove_sysv_ipc()
        if broken:
            return
        os.makedirs(SCRATCH, exist_ok=True)
        open_up(SCRATCH)
        self.zygote = Zygote()

    def run(self, request):
        """Run one execution and return its response."""
        write_files(request.get("files"))
        self.ready()
        zygote, self.zygote = self.zygote, None
        execution = Execution(request, self.wakeup_fd, self.oom_count)
        execution.start(zygote)
        execution.pump()
        response = execution.result()
        self.oom_count = execution.oom_after
        if not request.get("keep_files", True):
            empty_dir(WORK)
        if response["oom_killed"] and execution.oom_after >= 0 and not broken:
            if not self.memory_is_free(int(request.get("probe_mb", 0))):
                response["poisoned"] = "its memory stays full"
        if broken:
            response["poisoned"] = ", ".join(broken)
        return response

    def memory_is_free(self, megabytes):
        """Whether a fresh process can still touch ``megabytes`` MiB, after an OOM-killed run.

        What a run leaves behind (files in the work dir, kernel objects) is cleaned or bounded,
        but this checks the outcome itself: when the memory is not back, the host replaces the
        container, so the next run is not charged for what this one left.
        """
        for directory in CLEAN_DIRS:
            empty_dir(directory, keep=SCRATCH)
        remove_sysv_ipc()
        before = oom_kills()
        pid = os.fork()
        if pid == 0:
            try:
                with open("/proc/self/oom_score_adj", "w") as handle:
                    handle.write("1000")
                probe = b"\x01" * (megabytes << 20)
                os._exit(0 if len(probe) == megabytes << 20 else 1)
            except BaseException:
                os._exit(1)
        _, status = os.waitpid(pid, 0)
        self.oom_count = oom_kills()
        return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and self.oom_count == before

    def reset(self):
        """Kill everything (the zygote too) and empty every writable dir."""
        if self.zygote is not None:
            self.zygote.discard()
            self.zygote = None
        kill_everything()
        open_up(WORK)
        empty_dir(WORK)
        if leftovers(WORK):
            broken.append("the work dir cannot be emptied")
        return {"ok": True}

    def processes(self):
        """Return the pids of the container besides init, the server and its zygote."""
        idle = self.zygote.pid if self.zygote is not None else None
        pids = [pid for pid in other_processes() if pid != idle]
        return {"ok": True, "pids": pids, "open_fds": len(os.listdir("/proc/self/fd"))}


def handle(server, request):
    """Answer one request; a broken server answers only that it is (the host replaces it)."""
    op = request.get("op")
    if broken and op != "ping":
        return {
            "ok": False,
            "poisoned": True,
            "error": "the sandbox is broken: " + ", ".join(broken),
        }
    if op == "ping":
        return {"ok": True, "pid": os.getpid(), "python": sys.version.split()[0]}
    if op == "run":
        return server.run(request)
    if op == "upload":
        write_files(request["files"])
        return {"ok": True}
    if op == "download":
        return {"ok": True, "data": base64.b64encode(read_file(request["path"])).decode()}
    if op == "reset":
        return server.reset()
    if op == "processes":
        return server.processes()
    return {"ok": False, "error": f"unknown op {op!r}"}


def serve():
    """Answer requests from stdin until it closes.

    The server is the container's PID 1: the kernel drops every signal sent to it from inside
    the container that it has no handler for (SIGKILL included), and, not dumpable, it cannot be
    ptrace-attached, so code running as the same user can neither stop nor inspect it. As init
    it also reaps the orphans of each run.
    """
    set_dumpable(False)
    proto_in, proto_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    for number in IGNORED_SIGNALS:
        signal.signal(number, signal.SIG_IGN)
    wakeup_r, wakeup_w = os.pipe()
    os.set_blocking(wakeup_r, False)
    os.set_blocking(wakeup_w, False)
    signal.set_wakeup_fd(wakeup_w)
    signal.signal(signal.SIGCHLD, lambda number, frame: None)
    server = Server(wakeup_r)
    while True:
        server.ready()  # forks while the host reads the previous answer
        request = read_message(proto_in)
        if request is None or request.get("op") == "exit":
            return
        try:
            response = handle(server, request)
        except Exception as error:
            restore_limits()
            response = {"ok": False, "error": f"{type(error).__name__}: {error}"}
            if broken:
                response["poisoned"] = ", ".join(broken)
        response["id"] = request.get("id")
        write_message(proto_out, response)


if __name__ == "__main__":
    serve()
