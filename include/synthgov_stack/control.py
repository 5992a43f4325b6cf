"""Faults on a running `make stack`: requests to its supervisor, by files in its state dir.

The stack's processes are children of ``python -m synthgov_stack up``, and only that supervisor can
start one again as it was started (its command line and environment) and keep its pid for the stop.
So whoever rehearses a fault (the stack tests, an operator) asks it: a request file under
``<state>/control/``, answered by a reply file next to it. Files, not a socket: the state dir is
already the stack's private place (mode 0755, nothing secret in a request), and nothing listens.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from synthgov_stack.services import StackError
from synthgov_stack.stack import Stack

CONTROL_DIR = "control"
# What a request may ask: the Stack's fault methods; the ones taking an Airflow process's name first.
NAMED_ACTIONS = ("kill", "start_again", "restart")
ACTIONS = (*NAMED_ACTIONS, "stop_postgres", "start_postgres")
_REQUEST, _REPLY = ".request.json", ".reply.json"
_POLL_S = 0.5
REVIVE_RETRY_S = 30.0


def request(state_dir: Path, action: str, name: str | None = None, *, timeout: float = 900.0) -> Any:
    """Ask the supervisor of the stack in ``state_dir`` to do ``action`` (on ``name``); its result.

    StackError with the supervisor's message if it refused or failed, or if no answer came in time
    (no supervisor, or it is stuck: its own log says why).
    """
    if action not in ACTIONS:
        raise StackError(f"unknown stack action {action!r}; one of {', '.join(ACTIONS)}")
    folder = state_dir / CONTROL_DIR
    folder.mkdir(exist_ok=True)
    key = uuid.uuid4().hex
    staged = folder / f"{key}.tmp"
    staged.write_text(json.dumps({"action": action, "name": name}))
    staged.rename(folder / f"{key}{_REQUEST}")  # whole or not at all, for a supervisor polling the folder
    reply = folder / f"{key}{_REPLY}"
    deadline = time.monotonic() + timeout
    while not reply.exists():
        if time.monotonic() > deadline:
            (folder / f"{key}{_REQUEST}").unlink(missing_ok=True)
            raise StackError(f"the stack in {state_dir} did not answer {action} {name or ''} within {timeout:.0f} s")
        time.sleep(_POLL_S)
    answer = json.loads(reply.read_text())
    reply.unlink()
    if not answer["ok"]:
        raise StackError(f"the stack in {state_dir} refused {action} {name or ''}: {answer['error']}")
    return answer["result"]


def serve_requests(stack: Stack) -> int:
    """Do every pending request (oldest first) and write its reply; how many were served."""
    folder = stack.state_dir / CONTROL_DIR
    pending = sorted(folder.glob(f"*{_REQUEST}"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    for path in pending:
        key = path.name.removesuffix(_REQUEST)
        try:
            asked = json.loads(path.read_text())
            answer = {"ok": True, "result": _do(stack, str(asked["action"]), asked.get("name"))}
        except (StackError, RuntimeError, KeyError, ValueError) as error:
            answer = {"ok": False, "error": str(error)}
        path.unlink(missing_ok=True)
        staged = folder / f"{key}.reply.tmp"
        staged.write_text(json.dumps(answer))
        staged.rename(folder / f"{key}{_REPLY}")
    return len(pending)


class Reviver:
    """Starts again every Airflow process that exited on its own, as a service manager would.

    The dag-processor exits when it loses the metadata database (a PostgreSQL restart) and nothing
    else brings it back: the DAG files it would parse next would never reach the scheduler. One that
    does not come up is tried again ``REVIVE_RETRY_S`` later, never in a tight loop.
    """

    def __init__(self, stack: Stack, say: Callable[[str], None]) -> None:
        self.stack, self.say = stack, say
        self._not_before: dict[str, float] = {}

    def __call__(self) -> list[str]:
        revived = []
        for name in self.stack.exited():
            if time.monotonic() < self._not_before.get(name, 0.0):
                continue
            self.say(f"{name} exited on its own; starting it again")
            try:
                self.stack.start_again(name)
            except StackError as error:
                self.say(f"{name} did not start again ({error}); next try in {REVIVE_RETRY_S:.0f} s")
                self._not_before[name] = time.monotonic() + REVIVE_RETRY_S
                continue
            revived.append(name)
        return revived


def _do(stack: Stack, action: str, name: Any) -> Any:
    if action in NAMED_ACTIONS:
        if not isinstance(name, str):
            raise StackError(f"{action} needs the name of an Airflow process (worker1, scheduler, ...)")
        if action == "kill":
            return stack.kill(name)
        if action == "start_again":
            stack.start_again(name)
        else:
            stack.restart(name)
        return None
    if action == "stop_postgres":
        stack.stop_postgres()
        return None
    if action == "start_postgres":
        stack.start_postgres()
        return None
    raise StackError(f"unknown stack action {action!r}; one of {', '.join(ACTIONS)}")
