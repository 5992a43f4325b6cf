"""The command line: help, argument errors, and the demo summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthgov.cli import build_parser, main, print_demo_summary, print_how_to_reach

pytestmark = pytest.mark.unit


def test_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "sandbox" in out and "demo" in out


def test_serve_help_documents_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["sandbox", "serve", "--help"])
    out = capsys.readouterr().out
    for option in ("--host", "--port", "--state-dir", "--seed", "--scale", "--page-size", "--api-max"):
        assert option in out
    assert "JSON line" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "70000"], "port must be 0-65535"),
        (["--port", "http"], "expected a port number"),
        (["--scale", "0"], "at least 1"),
        (["--page-size", "5000"], "at most 2000"),
        (["--seed", "galaxy"], "invalid choice"),
    ],
)
def test_bad_serve_arguments_say_what_is_wrong(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["sandbox", "serve", *args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_scale_above_the_maximum_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "serve", "--scale", "999999"]) == 2
    assert "--scale must be at most" in capsys.readouterr().err


def test_demo_summary_counts_labels(capsys: pytest.CaptureFixture[str]) -> None:
    ready = {"instance_url": "https://127.0.0.1:1", "ca_bundle": "/x/ca.pem", "state_dir": "/x"}
    stats = {"now": "2026-11-02T09:00:00.000+0000", "objects": {"Lead": {"records": 3, "recycle_bin": 1}}}
    truth = {
        "cases": [{"labels": ["ai_generated", "untagged_ai"]}, {"labels": ["ai_generated"]}],
        "aggregates": {"lead_score_gap": {"synthetic_n": 0, "authentic_n": 3}},
    }
    print_demo_summary(ready, stats, truth, 15)
    print_how_to_reach(ready)
    out = capsys.readouterr().out
    assert "Planted cases: 2 records" in out
    assert "ai_generated" in out and " 2\n" in out.split("ai_generated")[1][:60]
    assert "REQUESTS_CA_BUNDLE=/x/ca.pem" in out


def test_policies_check_accepts_the_shipped_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policies", "check", "--no-warehouse"]) == 0
    assert "are valid" in capsys.readouterr().out


def test_policies_check_reports_a_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    from synthgov.policies import POLICY_DIR

    shutil.copytree(POLICY_DIR, tmp_path / "p")
    retention = tmp_path / "p" / "retention.yml"
    retention.write_text(retention.read_text().replace("days: 180", "days: -180"))
    assert (
        main(
            [
                "policies",
                "export",
                "--no-warehouse",
                "--policy-dir",
                str(tmp_path / "p"),
                "--project-dir",
                str(tmp_path / "dbt"),
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert f"{retention}: policies[1] ai-email-180d: days: must be" in err
    assert not (tmp_path / "dbt").exists()  # nothing is written from a bad policy
