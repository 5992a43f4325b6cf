"""The `/__sandbox__/` control plane: reset, seed, faults, clock, stats and the demo org's ground truth.

Tests and the demo drive the org through it; a real org has nothing like it, so it answers
loopback clients only (`Sandbox.endpoint(control=True)`). It composes the engine with the demo
org, which is why it is not part of the engine.
"""

from __future__ import annotations

import re
from typing import Any

from synthgov_sandbox.demo.seed import SeedError, seed_org
from synthgov_sandbox.demo.training import stored_manifests
from synthgov_sandbox.demo.truth import ground_truth
from synthgov_sandbox.engine.app import Ctx, RouteSpec
from synthgov_sandbox.engine.store import ApiError, Store
from synthgov_sandbox.engine.values import api_datetime, db_datetime, parse_datetime


class ControlPlane:
    """The control endpoints bound to one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def control_index(self, ctx: Ctx) -> dict[str, Any]:
        return {"endpoints": CONTROL_DOCS}

    def control_reset(self, ctx: Ctx) -> dict[str, Any]:
        self.store.reset()
        return {"reset": True}

    def control_seed(self, ctx: Ctx) -> dict[str, Any]:
        body = ctx.json_object() if ctx.body.strip() else {}
        try:
            summary = seed_org(
                self.store,
                profile=str(body.get("profile", "demo")),
                scale=int(body.get("scale", 1)),
                seed=int(body.get("seed", 42)),
            )
        except (SeedError, ValueError, TypeError) as exc:
            raise ApiError(400, "INVALID_SEED", str(exc)) from None
        return summary

    def control_faults(self, ctx: Ctx) -> dict[str, Any]:
        if ctx.request.method == "DELETE":
            self.store.clear_faults()
            return {"faults": []}
        if ctx.request.method == "GET":
            return {"faults": self.store.faults()}
        spec = ctx.json_object()
        kind = spec.pop("kind", None)
        if kind == "expire_sessions":
            return {"expired": self.store.expire_sessions()}
        if kind == "api_limit":
            remaining = spec.get("remaining")
            if not isinstance(remaining, int) or remaining < 0:
                raise ApiError(400, "INVALID_FAULT", "api_limit needs remaining: a non-negative integer")
            self.store.set_remaining(remaining)
            return {"api_usage": {"used": self.store.api_used(), "max": self.store.api_max()}}
        if kind not in FAULT_KINDS:
            raise ApiError(400, "INVALID_FAULT", f"unknown fault kind {kind!r}; one of {', '.join(FAULT_KINDS)}")
        if kind == "http_error":
            status = spec.setdefault("status", 503)
            if not isinstance(status, int) or not 400 <= status <= 599:
                raise ApiError(400, "INVALID_FAULT", "http_error needs status between 400 and 599")
            spec.setdefault("count", 1)
        if kind == "lock_rows":
            fraction = spec.get("fraction")
            if not isinstance(fraction, int | float) or not 0 < fraction <= 1:
                raise ApiError(400, "INVALID_FAULT", "lock_rows needs fraction in (0, 1]")
        if kind in ("bulk_job_fail", "truncate_page"):
            spec.setdefault("count", 1)
        if "path" in spec:
            try:
                re.compile(str(spec["path"]))
            except re.error as exc:
                raise ApiError(400, "INVALID_FAULT", f"path is not a valid regular expression: {exc}") from None
        self.store.add_fault(str(kind), spec)
        return {"faults": self.store.faults()}

    def control_clock(self, ctx: Ctx) -> dict[str, Any]:
        if ctx.request.method == "POST":
            body = ctx.json_object()
            now = body.get("now")
            days = body.get("advance_days")
            if now is None and days is None:
                raise ApiError(400, "INVALID_CLOCK", "give now (ISO dateTime) or advance_days (number)")
            try:
                when = parse_datetime(str(now)) if now is not None else None
            except ValueError as exc:
                raise ApiError(400, "INVALID_CLOCK", str(exc)) from None
            if days is not None and not isinstance(days, int | float):
                raise ApiError(400, "INVALID_CLOCK", "advance_days must be a number")
            self.store.set_clock(when, float(days) if days is not None else None)
        return {"now": api_datetime(db_datetime(self.store.now()))}

    def control_stats(self, ctx: Ctx) -> dict[str, Any]:
        used, maximum = self.store.api_used(), self.store.api_max()
        return {
            "calls": dict(self.store.stats),
            "api_usage": {"used": used, "max": maximum, "remaining": max(0, maximum - used)},
            "objects": self.store.object_counts(),
            "now": api_datetime(db_datetime(self.store.now())),
        }

    def control_ground_truth(self, ctx: Ctx) -> dict[str, Any]:
        return ground_truth(self.store)

    def control_training_manifests(self, ctx: Ctx) -> dict[str, Any]:
        return {"manifests": stored_manifests(self.store.meta)}


FAULT_KINDS = ("http_error", "api_limit", "expire_sessions", "lock_rows", "bulk_job_fail", "truncate_page", "latency")

CONTROL_DOCS = {
    "POST /__sandbox__/reset": "empty the org (records, sessions, jobs' cursors, faults, clock)",
    "POST /__sandbox__/seed": '{"profile": "demo"|"empty", "scale": N, "seed": N} - reset, then seed',
    "POST /__sandbox__/faults": (
        '{"kind": ...}: http_error {status, errorCode, message, path (regex), method, count}; '
        "api_limit {remaining}; expire_sessions {}; lock_rows {fraction}; bulk_job_fail {count, message}; "
        "truncate_page {count, path}; latency {ms, path, count}"
    ),
    "GET /__sandbox__/faults": "the armed faults",
    "DELETE /__sandbox__/faults": "disarm every fault",
    "GET|POST /__sandbox__/clock": '{"now": ISO} or {"advance_days": N}; the org clock drives audit dates and expiry',
    "GET /__sandbox__/stats": "calls per endpoint, API usage, record counts",
    "GET /__sandbox__/ground-truth": '{"cases": [{"object", "id", "labels", "evidence"}]} for the planted cases',
    "GET /__sandbox__/training-manifests": (
        '{"manifests": [{"key", "document"}]}: the demo training-data manifests, to put in the lake\'s training zone'
    ),
}


def control_routes(store: Store) -> list[RouteSpec]:
    """The `/__sandbox__/` routes for `build_app(extra_routes=...)`."""
    plane = ControlPlane(store)
    return [
        ("/__sandbox__", "control", plane.control_index, ["GET"], {"auth": False, "control": True}),
        ("/__sandbox__/reset", "control_reset", plane.control_reset, ["POST"], {"auth": False, "control": True}),
        ("/__sandbox__/seed", "control_seed", plane.control_seed, ["POST"], {"auth": False, "control": True}),
        (
            "/__sandbox__/faults",
            "control_faults",
            plane.control_faults,
            ["GET", "POST", "DELETE"],
            {"auth": False, "control": True},
        ),
        ("/__sandbox__/clock", "control_clock", plane.control_clock, ["GET", "POST"], {"auth": False, "control": True}),
        ("/__sandbox__/stats", "control_stats", plane.control_stats, ["GET"], {"auth": False, "control": True}),
        (
            "/__sandbox__/ground-truth",
            "control_ground_truth",
            plane.control_ground_truth,
            ["GET"],
            {"auth": False, "control": True},
        ),
        (
            "/__sandbox__/training-manifests",
            "control_training_manifests",
            plane.control_training_manifests,
            ["GET"],
            {"auth": False, "control": True},
        ),
    ]
