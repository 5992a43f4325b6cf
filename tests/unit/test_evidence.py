"""The evidence ledger on a local lake: append and verify, tamper evidence byte by byte, guards, the CLI."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from synthgov.cli import main
from synthgov.lake import LakeConflict, LakeError, LocalLake
from synthgov.retention.evidence import (
    GENESIS_SHA256,
    EvidenceLedger,
    LedgerError,
    canonical_json,
)
from synthgov.salesforce.ids import canonical_record_id, hash_record_id

pytestmark = pytest.mark.unit

LEAD_ID = "00Q5g0000000001EAA"
PLAN = hashlib.sha256(b"plan").hexdigest()


def apply_entry(n: int = 0, **extra: Any) -> dict[str, Any]:
    """What the retention DAG appends after applying a plan (shape only; the lead's code owns it)."""
    return {
        "kind": "retention.apply",
        "plan_sha256": PLAN,
        "policy": "synthetic-lead-90d",
        "reason": f"scheduled run {n}: résumé of expired synthetic leads",
        "approver": "dpo@example.com",
        "counts": {"planned": 2, "deleted": 1, "skipped": 1},
        "outcomes": [
            {"id_sha256": hash_record_id(LEAD_ID), "object": "Lead", "outcome": "deleted"},
            {"id_sha256": "ab" * 32, "object": "Lead", "outcome": "skipped", "code": "ENTITY_IS_DELETED"},
        ],
        **extra,
    }


@pytest.fixture
def lake(tmp_path: Path) -> LocalLake:
    return LocalLake(tmp_path / "lake")


@pytest.fixture
def ledger(lake: LocalLake) -> EvidenceLedger:
    led = EvidenceLedger(lake)
    for n in range(3):
        led.append(apply_entry(n))
    return led


def segment(lake: LocalLake, seq: int) -> Path:
    return lake.root / EvidenceLedger(lake).segment_key(seq)


def overwrite(path: Path, data: bytes) -> None:
    os.chmod(path, 0o644)  # segments are created read-only
    path.write_bytes(data)


# -- append and read back ------------------------------------------------------------------------


def test_append_chains_entries_and_verify_passes(lake: LocalLake) -> None:
    led = EvidenceLedger(lake)
    first = led.append(apply_entry(0))
    second = led.append(apply_entry(1))
    assert (first.seq, second.seq) == (0, 1)
    assert first.key == "evidence/retention/ledger/0000000000.jsonl"
    assert not first.worm
    entries = led.entries()
    assert [e["seq"] for e in entries] == [0, 1]
    assert entries[0]["prev_sha256"] == GENESIS_SHA256
    assert entries[1]["prev_sha256"] == first.sha256 == entries[0]["entry_sha256"]
    assert entries[1]["storage"] == {"worm": False}
    assert entries[1]["reason"] == "scheduled run 1: résumé of expired synthetic leads"
    report = led.verify()
    assert report.ok and report.entries == 2
    assert (report.head_seq, report.head_sha256) == (1, second.sha256)
    assert "intact, 2 entries" in report.summary() and "not WORM" in report.summary()


def test_a_segment_is_one_canonical_line_holding_no_plain_id(ledger: EvidenceLedger, lake: LocalLake) -> None:
    data = segment(lake, 1).read_bytes()
    assert data.count(b"\n") == 1 and data.endswith(b"\n")
    entry = json.loads(data)
    assert canonical_json(entry) + b"\n" == data
    unhashed = {k: v for k, v in entry.items() if k != "entry_sha256"}
    assert hashlib.sha256(canonical_json(unhashed)).hexdigest() == entry["entry_sha256"]
    assert LEAD_ID.encode() not in data and LEAD_ID[:15].encode() not in data
    assert segment(lake, 1).stat().st_mode & 0o777 == 0o444  # created read-only: never meant to change


def test_an_empty_ledger_verifies_as_empty(lake: LocalLake) -> None:
    report = EvidenceLedger(lake).verify()
    assert report.ok and report.entries == 0 and report.head_sha256 is None
    assert "intact and empty" in report.summary()


def test_a_segment_is_never_overwritten(ledger: EvidenceLedger, lake: LocalLake) -> None:
    with pytest.raises(LakeConflict, match="never overwritten"):
        lake.create_bytes(ledger.segment_key(1), b"forged\n")
    assert ledger.verify().ok


def test_a_racing_appender_loses_cleanly_and_appends_after_the_winner(
    ledger: EvidenceLedger, lake: LocalLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    rival = EvidenceLedger(lake)
    create = lake.create_bytes
    raced: list[str] = []

    def create_after_rival(key: str, data: bytes, **kwargs: Any) -> None:
        if not raced:  # the rival appends between our reading the head and our write
            raced.append(key)
            monkeypatch.setattr(lake, "create_bytes", create)
            rival.append(apply_entry(99))
        create(key, data, **kwargs)

    monkeypatch.setattr(lake, "create_bytes", create_after_rival)
    ours = ledger.append(apply_entry(3))
    assert raced == [ledger.segment_key(3)]
    assert ours.seq == 4
    entries = ledger.entries()
    assert [e["reason"][:16] for e in entries[3:]] == ["scheduled run 99", "scheduled run 3:"]
    assert ledger.verify().ok


# -- tamper evidence -----------------------------------------------------------------------------


def test_every_one_byte_change_of_any_segment_fails_verification(ledger: EvidenceLedger, lake: LocalLake) -> None:
    for seq in range(3):
        path = segment(lake, seq)
        original = path.read_bytes()
        os.chmod(path, 0o644)
        for position in range(len(original)):
            for flip in (0x01, 0x20, 0x80):
                edited = bytearray(original)
                edited[position] ^= flip
                path.write_bytes(bytes(edited))
                report = ledger.verify()
                assert not report.ok, f"segment {seq}: byte {position} ^ {flip:#x} went unnoticed"
                assert all(p.key.endswith(".jsonl") for p in report.problems)
        path.write_bytes(original)
    assert ledger.verify().ok


def test_deleting_or_inserting_any_one_byte_fails_verification(ledger: EvidenceLedger, lake: LocalLake) -> None:
    path = segment(lake, 1)
    original = path.read_bytes()
    os.chmod(path, 0o644)
    for position in range(len(original) + 1):
        if position < len(original):
            path.write_bytes(original[:position] + original[position + 1 :])
            assert not ledger.verify().ok, f"deleting byte {position} went unnoticed"
        path.write_bytes(original[:position] + b" " + original[position:])
        assert not ledger.verify().ok, f"inserting a space at {position} went unnoticed"
    path.write_bytes(original)
    assert ledger.verify().ok


def test_problems_name_the_segment_line_and_what_is_wrong(ledger: EvidenceLedger, lake: LocalLake) -> None:
    path = segment(lake, 1)
    entry = json.loads(path.read_bytes())
    entry["counts"]["deleted"] = 0  # a consistent-looking edit: valid canonical JSON, stale hash
    overwrite(path, canonical_json(entry) + b"\n")
    (problem,) = ledger.verify().problems
    assert problem.key == "evidence/retention/ledger/0000000001.jsonl" and problem.line == 1
    assert "hash mismatch" in problem.message
    assert str(problem).startswith("evidence/retention/ledger/0000000001.jsonl:1: hash mismatch")

    # Re-hashing the edited entry moves the break to the next link.
    entry["entry_sha256"] = hashlib.sha256(
        canonical_json({k: v for k, v in entry.items() if k != "entry_sha256"})
    ).hexdigest()
    overwrite(path, canonical_json(entry) + b"\n")
    (problem,) = ledger.verify().problems
    assert problem.key.endswith("0000000002.jsonl") and "broken chain" in problem.message


def test_a_missing_segment_is_a_gap(ledger: EvidenceLedger, lake: LocalLake) -> None:
    segment(lake, 1).unlink()
    problems = ledger.verify().problems
    assert [(p.key, p.line) for p in problems] == [("evidence/retention/ledger/0000000002.jsonl", None)]
    assert "gap in the sequence: #1 missing" in problems[0].message


def test_reordered_segments_fail(ledger: EvidenceLedger, lake: LocalLake) -> None:
    first, second = segment(lake, 0).read_bytes(), segment(lake, 1).read_bytes()
    overwrite(segment(lake, 0), second)
    overwrite(segment(lake, 1), first)
    messages = [p.message for p in ledger.verify().problems]
    assert any("entry says seq 1, its segment says 0" in m for m in messages)
    assert any("broken chain" in m for m in messages)


@pytest.mark.parametrize(
    ("cut", "message"),
    [
        (lambda data: data[: len(data) // 2], "exactly one line"),
        (lambda data: data[:-1], "exactly one line"),
        (lambda data: data + data, "exactly one line"),
        (lambda data: b"", "exactly one line"),
    ],
    ids=["truncated", "newline cut", "line appended", "emptied"],
)
def test_truncated_or_extended_segments_fail(ledger: EvidenceLedger, lake: LocalLake, cut: Any, message: str) -> None:
    path = segment(lake, 2)
    overwrite(path, cut(path.read_bytes()))
    problems = ledger.verify().problems
    assert any(message in p.message for p in problems)


def test_a_cut_off_tail_needs_an_anchor(ledger: EvidenceLedger, lake: LocalLake) -> None:
    head = ledger.verify().head_sha256
    assert head is not None
    segment(lake, 2).unlink()
    # A hash chain cannot tell a shorter ledger from a cut one; the receipt's hash can.
    assert ledger.verify().ok
    report = ledger.verify(anchors=[head])
    assert not report.ok and "is not in the ledger" in report.problems[0].message


def test_stray_objects_in_the_ledger_folder_are_reported(ledger: EvidenceLedger, lake: LocalLake) -> None:
    lake.put_bytes("evidence/retention/ledger/notes.txt", b"x")
    (problem,) = ledger.verify().problems
    assert problem.key.endswith("notes.txt") and "not a ledger segment" in problem.message


def test_append_refuses_to_build_on_a_damaged_head(ledger: EvidenceLedger, lake: LocalLake) -> None:
    path = segment(lake, 2)
    overwrite(path, path.read_bytes().replace(b"deleted", b"DELETED", 1))
    with pytest.raises(LedgerError, match=r"last entry .*0000000002\.jsonl is damaged.*evidence verify"):
        ledger.append(apply_entry(3))
    assert not segment(lake, 3).exists()


# -- what an entry may hold ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"plan_sha256": PLAN}, "needs a kind"),
        ({"kind": "Retention Apply"}, "needs a kind"),
        ({"kind": "retention.apply", "seq": 7}, "sets seq: the ledger writes"),
        ({"kind": "retention.apply", "entry_sha256": PLAN}, "sets entry_sha256"),
        ({"kind": "retention.apply", "outcomes": {"a": 1}}, "outcomes must be a list"),
        (
            {"kind": "retention.apply", "outcomes": [{"id_sha256": PLAN, "outcome": "deleted", "Name": "Ann Smith"}]},
            "unexpected key.*Name.*never record content",
        ),
        (
            {"kind": "retention.apply", "outcomes": [{"id_sha256": LEAD_ID, "outcome": "deleted"}]},
            "id_sha256 must be hash_record_id",
        ),
        ({"kind": "retention.apply", "outcomes": [{"id_sha256": PLAN}]}, "outcome must be"),
        (
            {"kind": "retention.apply", "outcomes": [{"id_sha256": PLAN, "outcome": "failed", "code": "bad: Ann"}]},
            "code must be a status code",
        ),
        (
            {"kind": "retention.apply", "outcomes": [{"id_sha256": PLAN, "outcome": "x", "object": "Le ad"}]},
            "object must be an sObject",
        ),
        ({"kind": "retention.apply", "ratio": float("nan")}, "not plain JSON"),
        ({"kind": "retention.apply", "at": object()}, "not plain JSON"),
    ],
)
def test_entries_that_could_carry_content_or_break_the_chain_are_refused(
    lake: LocalLake, entry: dict[str, Any], message: str
) -> None:
    with pytest.raises(LedgerError, match=message):
        EvidenceLedger(lake).append(entry)
    assert lake.list() == []


def test_record_ids_are_hashed_in_their_18_character_form() -> None:
    assert canonical_record_id(LEAD_ID[:15]) == LEAD_ID
    assert hash_record_id(LEAD_ID) == hash_record_id(LEAD_ID[:15])
    assert hash_record_id(LEAD_ID) == hashlib.sha256(LEAD_ID.encode()).hexdigest()
    # An auditor holding an id checks it against the ledger with nothing but SHA-256.
    assert hashlib.sha256(b"00Q5g0000000001EAA").hexdigest() == hash_record_id("00Q5g0000000001")
    for bad in ("00Q5g0000000001AAA", "00Q5g000000001", "00Q5g0000000001\n", "00Q5g00000-0001", 42):
        with pytest.raises(ValueError, match="Salesforce record id"):
            hash_record_id(bad)  # type: ignore[arg-type]


def test_a_local_lake_refuses_to_pretend_it_can_lock(lake: LocalLake) -> None:
    from datetime import UTC, datetime

    from synthgov.lake import Retention

    with pytest.raises(LakeError, match="no write-once storage"):
        lake.create_bytes("evidence/x.jsonl", b"x\n", retention=Retention("COMPLIANCE", datetime.now(UTC)))


# -- the command line ----------------------------------------------------------------------------


def test_cli_verify_passes_then_fails_after_a_one_byte_edit(
    ledger: EvidenceLedger, lake: LocalLake, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["evidence", "verify", "--lake", str(lake.root)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "intact, 3 entries, head #2" in out[0] and "not WORM" in out[0]

    path = segment(lake, 0)
    data = bytearray(path.read_bytes())
    data[40] ^= 0x01
    overwrite(path, bytes(data))
    assert main(["evidence", "verify", "--lake", lake.url]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "problem(s) in 3 segments" in captured.err
    assert "evidence/retention/ledger/0000000000.jsonl:1:" in captured.err


def test_cli_verify_with_anchors(ledger: EvidenceLedger, lake: LocalLake, capsys: pytest.CaptureFixture[str]) -> None:
    head = ledger.verify().head_sha256
    assert head is not None
    assert main(["evidence", "verify", "--lake", str(lake.root), "--anchor", head.upper()]) == 0
    assert main(["evidence", "verify", "--lake", str(lake.root), "--anchor", "ab" * 32]) == 1
    assert "is not in the ledger" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["evidence", "verify", "--anchor", "xyz"])
    assert exit_info.value.code == 2
    assert "expected a SHA-256 hash" in capsys.readouterr().err


def test_cli_show_lists_entries_without_outcomes(
    ledger: EvidenceLedger, lake: LocalLake, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["evidence", "show", "--lake", str(lake.root)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("#0 ") and "retention.apply" in lines[0]
    assert f"plan={PLAN[:12]}" in lines[0] and "deleted=1" in lines[0] and "outcomes=2" in lines[0]
    assert main(["evidence", "show", "--lake", str(lake.root), "--last", "1"]) == 0
    assert capsys.readouterr().out.startswith("#2 ")


def test_cli_says_when_the_lake_cannot_be_read(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["evidence", "verify", "--lake", "s3://"]) == 2
    assert "names no bucket" in capsys.readouterr().err
    assert main(["evidence", "show", "--lake", str(tmp_path / "empty")]) == 0
    assert "is empty" in capsys.readouterr().out


def test_cli_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["evidence", "verify", "--help"])
    out = capsys.readouterr().out
    assert "--lake" in out and "--anchor" in out and "Exit status" in out
