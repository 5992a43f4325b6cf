"""Which C2PA signers synthgov trusts: the trust anchors and c2pa's trust config, from the policy files.

`c2pa_trust.yml` in the policy directory names PEM bundles of trust anchors (root or intermediate CA
certificates) and, optionally, a trust config: the extended key usages c2pa accepts on a signing
certificate (c2pa's `trust.trust_config`, one OID a line, `//` comments). A trust list such as a
vendor's or a player's often needs its config: without it, a signer whose certificate carries a vendor
EKU is rejected however well anchored. Both are validated before any file is read; every problem is
reported at once, naming the file and what is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509

from synthgov.policies import PolicyError
from synthgov.settings import policy_dir

TRUST_POLICY_NAME = "c2pa_trust.yml"
_OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")


@dataclass(frozen=True)
class C2paTrust:
    """What a c2pa Context needs to say Trusted: anchors (PEM, concatenated) and the EKU config."""

    anchors_pem: bytes | None = None
    trust_config: str | None = None

    def settings(self) -> dict[str, Any]:
        """c2pa `trust` settings; user_anchors adds to c2pa's (empty, offline) list instead of replacing it."""
        out: dict[str, Any] = {}
        if self.anchors_pem:
            out["user_anchors"] = self.anchors_pem.decode("ascii")
        if self.trust_config:
            out["trust_config"] = self.trust_config
        return out


def anchor_problems(where: str, pem: bytes) -> list[str]:
    """Why `pem` is not a usable bundle of certificates (empty list: it is).

    End-entity certificates are allowed: trust lists pin individual signers as well as CAs.
    """
    try:
        x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        return [f"{where}: not a PEM bundle of X.509 certificates ({exc})"]
    return []


def trust_config_problems(where: str, text: str) -> list[str]:
    """Why `text` is not a c2pa trust config: every line blank, a `//` comment or a dotted OID."""
    problems = []
    oids = 0
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.strip()
        if not entry or entry.startswith("//"):
            continue
        if _OID.match(entry):
            oids += 1
        else:
            problems.append(f"{where}: line {number}: {entry!r} is not an OID")
    if not oids and not problems:
        problems.append(f"{where}: names no extended key usage OID")
    return problems


def load_c2pa_trust(directory: Path | None = None) -> C2paTrust:
    """The trust policy of `directory` (default: the policy directory); PolicyError with every problem.

    No `c2pa_trust.yml` means no anchors: every signer is at best Valid, never Trusted.
    """
    directory = directory or policy_dir()
    path = directory / TRUST_POLICY_NAME
    if not path.exists():
        return C2paTrust()
    problems: list[str] = []
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError([f"{path}: cannot read: {exc}"]) from exc
    if not isinstance(data, dict) or set(data) - {"trust_anchors", "trust_config"}:
        raise PolicyError([f"{path}: expected a mapping with trust_anchors (list of files) and trust_config (file)"])
    anchors = data.get("trust_anchors") or []
    if not isinstance(anchors, list) or not all(isinstance(a, str) for a in anchors):
        problems.append(f"{path}: trust_anchors: expected a list of PEM file paths")
        anchors = []
    pem = b""
    for name in anchors:
        bundle = _read_beside(path, name, problems)
        if bundle is not None:
            problems += anchor_problems(f"{path}: trust_anchors: {name}", bundle)
            pem += bundle if bundle.endswith(b"\n") else bundle + b"\n"
    config: str | None = None
    if data.get("trust_config") is not None:
        name = data["trust_config"]
        raw = _read_beside(path, name, problems) if isinstance(name, str) else None
        if not isinstance(name, str):
            problems.append(f"{path}: trust_config: expected a file path")
        elif raw is not None:
            config = raw.decode("utf-8", errors="replace")
            problems += trust_config_problems(f"{path}: trust_config: {name}", config)
    if problems:
        raise PolicyError(problems)
    return C2paTrust(anchors_pem=pem or None, trust_config=config)


def _read_beside(policy: Path, name: str, problems: list[str]) -> bytes | None:
    target = policy.parent / name
    try:
        return target.read_bytes()
    except OSError as exc:
        problems.append(f"{policy}: {name}: cannot read: {exc.strerror}")
        return None
