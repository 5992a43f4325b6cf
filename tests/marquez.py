"""Marquez for the tests: the runner lives in synthgov_stack.marquez, which the stack shares."""

from __future__ import annotations

from synthgov_stack.marquez import (
    HOW_TO_ENABLE,
    MarquezServer,
    MarquezUnavailable,
    java,
    marquez_lib,
    marquez_server,
    require_lib,
)

__all__ = [
    "HOW_TO_ENABLE",
    "MarquezServer",
    "MarquezUnavailable",
    "java",
    "marquez_lib",
    "marquez_server",
    "require_lib",
]
