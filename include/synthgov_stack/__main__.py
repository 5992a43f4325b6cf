"""`make stack`, `make stack-down` and `make airflow`: ``python -m synthgov_stack up|down|airflow``."""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from synthgov import settings
from synthgov_stack.airflow import run_standalone
from synthgov_stack.control import Reviver, serve_requests
from synthgov_stack.postgres import stop_cluster
from synthgov_stack.processes import stop_pids, stop_processes
from synthgov_stack.services import StackError
from synthgov_stack.stack import STATE_FILE, Stack

# The supervisor's own clean stop: one grace period for the workers, then the services one by one.
_SUPERVISOR_STOP_S = 90.0
_SETTING_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")


def interrupt_on_signals() -> None:
    """SIGTERM as Ctrl-C: either raises KeyboardInterrupt once, so the stop runs; later ones are ignored,
    so a second Ctrl-C cannot cut the stop short and leave processes behind."""

    def handle(signum: int, _frame: FrameType | None) -> None:
        for each in (signal.SIGTERM, signal.SIGINT):
            signal.signal(each, signal.SIG_IGN)
        raise KeyboardInterrupt(f"signal {signum}")

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handle)


def up(state_dir: Path, *, marquez: bool, port: int | None, settings: dict[str, str] | None = None) -> int:
    interrupt_on_signals()
    stack = Stack(
        state_dir, marquez=marquez, airflow_port=port, settings=settings, say=lambda line: print(line, flush=True)
    )
    try:
        info = stack.start()
        print("\n".join(info.addresses()), flush=True)
        print("Ctrl-C (or SIGTERM, or `make stack-down`) stops everything.", flush=True)
        revive = Reviver(stack, say=lambda line: print(line, flush=True))
        while True:
            time.sleep(1)
            # Faults asked for through control.request (a worker killed, the scheduler restarted, ...).
            serve_requests(stack)
            revive()
            if stack.leftovers() == []:
                raise StackError("every process of the stack has exited")
    except KeyboardInterrupt:
        print("stopping the stack...", flush=True)
        return 0
    except StackError as error:
        print(f"make stack: {error}", file=sys.stderr)
        return 1
    finally:
        stack.stop()
        left = stack.leftovers()
        print("stopped" if not left else f"still running: {left}", flush=True)


def down(state_dir: Path) -> int:
    """Stop a stack by the pids in its state file: the supervisor first (its own orderly stop), then
    anything that outlived it, PostgreSQL through pg_ctl, and a sweep of the state dir."""
    path = state_dir / STATE_FILE
    state = json.loads(path.read_text()) if path.exists() else {}
    supervisor = int(state.get("supervisor_pid", 0))
    if supervisor and supervisor != os.getpid():
        try:
            os.kill(supervisor, signal.SIGTERM)
            deadline = time.monotonic() + _SUPERVISOR_STOP_S
            while time.monotonic() < deadline and Path(f"/proc/{supervisor}").exists():
                time.sleep(0.5)
        except ProcessLookupError:
            pass
    stop_pids([supervisor, *state.get("pids", {}).values()], grace=10.0)
    stop_cluster(state_dir / "postgres")
    left = stop_processes([], under=state_dir, grace=10.0)
    path.unlink(missing_ok=True)
    if left:
        print(f"still running after SIGKILL: {[p.pid for p in left]}", file=sys.stderr)
        return 1
    print(f"stack in {state_dir}: nothing left running")
    return 0


def setting(text: str) -> tuple[str, str]:
    """``NAME=VALUE`` of ``up --set``: an environment variable for every process of the stack."""
    name, sep, value = text.partition("=")
    if not sep or not _SETTING_NAME.fullmatch(name):
        raise argparse.ArgumentTypeError(
            f"--set {text!r}: expected NAME=VALUE with an environment variable's name, "
            "e.g. AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT=90"
        )
    return name, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m synthgov_stack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, doc in (("up", "start the stack in the foreground"), ("down", "stop a stack by its state file")):
        cmd = commands.add_parser(name, help=doc)
        cmd.add_argument("--state-dir", type=Path, default=None, help="default: $SYNTHGOV_HOME/stack")
    commands.choices["up"].add_argument("--no-marquez", action="store_true", help="leave Marquez out")
    commands.choices["up"].add_argument("--airflow-port", type=int, default=None, help="default: a free port")
    commands.choices["up"].add_argument(
        "--set",
        type=setting,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an environment variable over the stack's defaults for all its processes (repeatable), "
        "e.g. a shorter heartbeat timeout or retry delay, or OPENLINEAGE_URL",
    )
    standalone = commands.add_parser("airflow", help="airflow standalone on the project's DAGs (make airflow)")
    standalone.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    if args.command == "airflow":
        interrupt_on_signals()
        return run_standalone(settings.home(), args.port)
    state_dir = (args.state_dir or settings.home() / "stack").resolve()
    if args.command == "up":
        return up(state_dir, marquez=not args.no_marquez, port=args.airflow_port, settings=dict(args.set))
    return down(state_dir)


if __name__ == "__main__":
    sys.exit(main())
