"""The processes the stack and `make airflow` start: each in a session of its own, stopped as a whole.

A server that forks (Airflow's components, Celery's pool, the task supervisors under it) leaves
children that a signal to the one process we started never reaches. So every command starts a new
session (its pid is the session id), and stopping signals every process of that session, found by
walking /proc, and every process whose working directory or command line lies under the state dir
(the last net, for anything that started a session of its own). SIGTERM first; SIGKILL for whatever
is still there after the grace period: a Celery worker answers the first SIGTERM with a warm
shutdown that waits for its running tasks, however long they take.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

STOP_GRACE_S = 20.0
_KILL_WAIT_S = 10.0
_POLL_S = 0.2


@dataclass(frozen=True)
class ProcessInfo:
    """One process, as /proc shows it."""

    pid: int
    ppid: int
    sid: int
    state: str  # Z: a zombie, gone but for its parent's wait
    cmdline: str
    cwd: str


def _read_process(pid: int) -> ProcessInfo | None:
    base = Path("/proc") / str(pid)
    try:
        stat = (base / "stat").read_text()
        cmdline = (base / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        try:
            cwd = os.readlink(base / "cwd")
        except OSError:  # a zombie has none; a process of another user without the right to see it
            cwd = ""
    except OSError:  # exited while we looked
        return None
    # "pid (comm) state ppid pgrp session ...": comm may hold spaces and parentheses.
    fields = stat[stat.rfind(")") + 2 :].split()
    return ProcessInfo(pid, int(fields[1]), int(fields[3]), fields[0], cmdline, cwd)


def all_processes() -> Iterator[ProcessInfo]:
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (info := _read_process(int(entry.name))) is not None:
            yield info


def _ancestors() -> set[int]:
    """This process and its ancestors: never signalled, whatever their cwd."""
    found, pid = set(), os.getpid()
    while pid > 1 and pid not in found:
        found.add(pid)
        info = _read_process(pid)
        pid = info.ppid if info is not None else 0
    return found


def _is_under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def processes_of(*, sessions: Collection[int] = (), under: Path | None = None) -> list[ProcessInfo]:
    """Live processes (no zombies) in one of ``sessions``, or whose cwd or command line lies under ``under``.

    Excludes the calling process and its ancestors.
    """
    root = str(under.resolve()) if under is not None else None
    mine = _ancestors()
    found = []
    for info in all_processes():
        if info.pid in mine or info.state == "Z":
            continue
        in_session = info.sid in sessions
        in_dir = root is not None and (_is_under(info.cwd, root) or root in info.cmdline)
        if in_session or in_dir:
            found.append(info)
    return found


@dataclass
class Managed:
    """A command started by ``spawn``: the leader of its own session."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid


def spawn(name: str, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, log: Path) -> Managed:
    """Start ``argv`` in a new session, output appended to ``log``, no standard input."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=cwd,
            # Own session: the caller's Ctrl-C does not reach it before stop_processes does, in order.
            start_new_session=True,
        )
    return Managed(name, process, log)


def _signal(pids: Collection[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):  # exited in between
            os.kill(pid, signum)


def stop_processes(
    sessions: Collection[int],
    *,
    under: Path | None = None,
    children: Collection[subprocess.Popen[bytes]] = (),
    grace: float = STOP_GRACE_S,
) -> list[ProcessInfo]:
    """SIGTERM every process of ``sessions`` (and under ``under``), SIGKILL what is left after ``grace``.

    ``children``: our own child processes among them, reaped so they do not linger as zombies.
    Returns what survived even SIGKILL (empty, unless a process is stuck in the kernel).
    """

    def left() -> list[ProcessInfo]:
        for child in children:
            child.poll()
        return processes_of(sessions=sessions, under=under)

    targets = left()
    _signal([p.pid for p in targets], signal.SIGTERM)
    deadline = time.monotonic() + grace
    while targets and time.monotonic() < deadline:
        time.sleep(_POLL_S)
        targets = left()
    if not targets:
        return []
    _signal([p.pid for p in targets], signal.SIGKILL)
    deadline = time.monotonic() + _KILL_WAIT_S
    while targets and time.monotonic() < deadline:
        time.sleep(_POLL_S)
        targets = left()
    return targets


def kill_tree(pid: int, *, children: Collection[subprocess.Popen[bytes]] = ()) -> list[int]:
    """SIGKILL ``pid``, its session and every descendant at once, as a machine that loses power would.

    Returns the pids signalled; waits (up to the kill wait) until they are gone, reaping ``children``.
    """
    everything = list(all_processes())
    doomed = {p.pid for p in everything if p.sid == pid} | {pid}
    grew = True
    while grew:  # descendants that started sessions of their own (a task supervisor's child)
        more = {p.pid for p in everything if p.ppid in doomed} - doomed
        doomed |= more
        grew = bool(more)
    doomed -= _ancestors()
    _signal(doomed, signal.SIGKILL)
    deadline = time.monotonic() + _KILL_WAIT_S
    while time.monotonic() < deadline:
        for child in children:
            child.poll()
        alive = [p for p in doomed if (info := _read_process(p)) is not None and info.state != "Z"]
        if not alive:
            break
        time.sleep(_POLL_S)
    return sorted(doomed)


def stop_pids(pids: Collection[int], *, under: Path | None = None, grace: float = STOP_GRACE_S) -> list[ProcessInfo]:
    """``stop_processes`` for sessions another process started (``make stack-down``): their leaders' pids.

    A pid that is no longer a session leader was reused by an unrelated process: left alone.
    """
    sessions = [pid for pid in pids if (info := _read_process(pid)) is not None and info.sid == pid]
    return stop_processes(sessions, under=under, grace=grace)
