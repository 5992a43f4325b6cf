"""Faults asked of a running stack's supervisor (synthgov_stack.control) and `up --set`, without a stack.

A ``Stack`` that was never started, holding stand-in processes (``sleep``) under Airflow's names: the
control files go through the real folder, and the kill through the real process walk.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from synthgov_stack import control
from synthgov_stack.__main__ import setting
from synthgov_stack.processes import Managed, spawn, stop_processes
from synthgov_stack.services import StackError
from synthgov_stack.stack import Stack

pytestmark = pytest.mark.unit


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(tmp_path / "stack", say=lambda _line: None)
    stack.state_dir.mkdir()

    def stand_in(name: str, seconds: int) -> Managed:
        return spawn(
            name,
            [sys.executable, "-c", f"import time; time.sleep({seconds})"],
            env=dict(os.environ),
            cwd=tmp_path,
            log=tmp_path / f"{name}.log",
        )

    stack._airflow = [stand_in("worker1", 120), stand_in("dag-processor", 0)]
    try:
        yield stack
    finally:
        stop_processes([m.pid for m in stack._airflow], children=[m.process for m in stack._airflow], grace=2.0)


def _serving(stack: Stack, stop: threading.Event) -> None:
    while not stop.is_set():
        control.serve_requests(stack)
        time.sleep(0.1)


def test_a_kill_request_is_served_by_the_supervisor_and_the_killed_process_is_not_revived(stack: Stack) -> None:
    stop = threading.Event()
    server = threading.Thread(target=_serving, args=(stack, stop), daemon=True)
    server.start()
    try:
        worker = stack._airflow[0]
        pids = control.request(stack.state_dir, "kill", "worker1", timeout=30)
        assert worker.pid in pids
        assert worker.process.wait(10) is not None
        with pytest.raises(StackError, match="refused kill nobody: no Airflow process 'nobody'"):
            control.request(stack.state_dir, "kill", "nobody", timeout=30)
    finally:
        stop.set()
        server.join(10)
    stack._airflow[1].process.wait(10)
    # The dag-processor stand-in exited on its own: revived. worker1 was killed on purpose: left dead.
    assert stack.exited() == ["dag-processor"]
    assert list((stack.state_dir / control.CONTROL_DIR).iterdir()) == [], "a request or reply was left behind"


def test_nothing_is_revived_while_postgresql_is_stopped_on_purpose(stack: Stack) -> None:
    stack._airflow[1].process.wait(10)
    stack._postgres_stopped = True
    assert stack.exited() == []


def test_a_request_nobody_answers_ends_with_an_error_naming_the_stack(tmp_path: Path) -> None:
    with pytest.raises(StackError, match=f"the stack in {tmp_path} did not answer stop_postgres"):
        control.request(tmp_path, "stop_postgres", timeout=1)
    assert list((tmp_path / control.CONTROL_DIR).iterdir()) == []
    with pytest.raises(StackError, match="unknown stack action 'reboot'"):
        control.request(tmp_path, "reboot")


def test_up_set_takes_name_value_and_refuses_anything_else() -> None:
    assert setting("SYNTHGOV_RETRY_DELAY_SECONDS=5") == ("SYNTHGOV_RETRY_DELAY_SECONDS", "5")
    assert setting("OPENLINEAGE_URL=http://127.0.0.1:1/x=y") == ("OPENLINEAGE_URL", "http://127.0.0.1:1/x=y")
    for bad in ("RETRY", "lower=1", "=1", "A B=1"):
        with pytest.raises(argparse.ArgumentTypeError, match="expected NAME=VALUE"):
            setting(bad)
