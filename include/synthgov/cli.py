"""The `synthgov` command line."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from synthgov.lineage.replay import add_replay_command, run_replay_command
from synthgov.settings import home


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0-65535 (0 picks a free one), got {value}")
    return value


def _sha256(text: str) -> str:
    value = text.strip().lower()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise argparse.ArgumentTypeError(f"expected a SHA-256 hash (64 hex digits), got {text!r}")
    return value


def _page_size(text: str) -> int:
    value = _positive(text)
    if value > 2000:
        raise argparse.ArgumentTypeError("page size must be at most 2000 (the Salesforce maximum)")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="synthgov",
        description="Governance and retention for AI-generated and synthetic content in Salesforce CRM data.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sandbox = sub.add_parser("sandbox", help="the Salesforce-compatible sandbox org (HTTPS on loopback)")
    sandbox_sub = sandbox.add_subparsers(dest="sandbox_command", required=True, metavar="SUBCOMMAND")
    serve = sandbox_sub.add_parser(
        "serve",
        help="serve the sandbox org until interrupted",
        description=(
            "Serve a Salesforce-compatible org over HTTPS. On first start it makes a CA and a server "
            "certificate under the state dir and seeds the org; data persists across restarts. When ready "
            "it prints one JSON line on stdout (instance_url, ca_bundle, client_id, client_secret, ...); "
            "logs go to stderr. The control API is documented at GET /__sandbox__."
        ),
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=0, help="port; 0 picks a free one (default 0)")
    serve.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="where the org database, CA and certificates live (default $SYNTHGOV_HOME/sandbox)",
    )
    serve.add_argument(
        "--seed",
        choices=("demo", "empty"),
        default="demo",
        help="what a new org is seeded with (default demo); an existing org is kept",
    )
    serve.add_argument(
        "--scale",
        type=_positive,
        default=1,
        help="multiplies the demo org's authentic background, about 940 records each (default 1)",
    )
    serve.add_argument("--seed-value", type=int, default=42, help="random seed of the demo org (default 42)")
    serve.add_argument(
        "--page-size",
        type=_page_size,
        default=2000,
        help="default REST query page size, 1-2000 (default 2000; clients may ask 200-2000)",
    )
    serve.add_argument(
        "--api-max",
        type=_positive,
        default=None,
        help="the daily API request budget the org reports and enforces (default 1000000)",
    )

    summary = sandbox_sub.add_parser(
        "summary",
        help="start the sandbox org, print what it holds and how to reach it, then stop it",
        description="Start the sandbox org, print its objects, planted cases and how to reach it, then stop it.",
    )
    summary.add_argument("--state-dir", type=Path, default=None, help="sandbox state (default $SYNTHGOV_HOME/sandbox)")

    policies = sub.add_parser("policies", help="check the policy files, or hand them to dbt")
    policies_sub = policies.add_subparsers(dest="policies_command", required=True, metavar="SUBCOMMAND")
    for name, text in (
        ("check", "validate include/policies against the extraction config and the warehouse's columns"),
        ("export", "validate, then write the dbt seeds and the mapping macro (the one step from policies to dbt)"),
    ):
        cmd = policies_sub.add_parser(name, help=text, description=text)
        cmd.add_argument(
            "--policy-dir", type=Path, default=None, help="default $SYNTHGOV_POLICY_DIR or include/policies"
        )
        cmd.add_argument(
            "--no-warehouse", action="store_true", help="do not check field names against the warehouse's raw tables"
        )
        if name == "export":
            cmd.add_argument("--project-dir", type=Path, default=None, help="the dbt project (default dbt_project/)")

    evidence = sub.add_parser("evidence", help="check or list the hash-chained purge evidence ledger in the lake")
    evidence_sub = evidence.add_subparsers(dest="evidence_command", required=True, metavar="SUBCOMMAND")
    evidence_verify = evidence_sub.add_parser(
        "verify",
        help="check the whole chain: every hash, every link, no gaps",
        description=(
            "Check every entry of the evidence ledger: canonical JSON, its SHA-256, the link to the entry "
            "before it, no gaps in the sequence and, on a versioned bucket, no segment overwritten or deleted. "
            "Prints one line (entries, head hash, WORM or not) when intact, and every problem when not. "
            "Exit status: 0 intact, 1 problems found, 2 the lake could not be read."
        ),
    )
    evidence_verify.add_argument(
        "--anchor",
        action="append",
        default=[],
        type=_sha256,
        metavar="SHA256",
        help="an entry hash from an earlier receipt that must still be in the ledger (repeatable): a chain "
        "cannot show entries cut from its end, an anchor can",
    )
    evidence_show = evidence_sub.add_parser(
        "show",
        help="list the entries, one line each (not verified: use verify)",
        description="List the ledger's entries, oldest first: sequence, time, kind, hash and their main fields.",
    )
    evidence_show.add_argument("--last", type=_positive, default=None, metavar="N", help="only the newest N entries")
    for cmd in (evidence_verify, evidence_show):
        cmd.add_argument(
            "--lake",
            default=None,
            metavar="URL",
            help="the lake: a path, file:///path or s3://bucket/prefix (default $SYNTHGOV_LAKE_URL, "
            "else $SYNTHGOV_HOME/lake)",
        )

    training = sub.add_parser("training", help="training-data manifests for the lake's training zone")
    training_sub = training.add_subparsers(dest="training_command", required=True, metavar="SUBCOMMAND")
    training_check = training_sub.add_parser(
        "check",
        help="validate manifest files before putting them in the training zone",
        description=(
            "Validate training-data manifests (format: include/synthgov/training/training_manifest.schema.json) and "
            "print every problem with file, entry and field. Exit status: 0 valid, 1 problems found."
        ),
    )
    training_check.add_argument("files", nargs="+", type=Path, metavar="FILE", help="manifest JSON files")

    report = sub.add_parser(
        "report",
        help="write the regulator evidence pack (a self-contained folder: index.html, bundle.json, SHA256SUMS)",
        description=(
            "Write the regulator evidence pack: index.html (opens offline, loads nothing from the network) with "
            "the findings of each control and the regulation cited, provenance statistics, retention candidates, "
            "the policies in force, the purge receipts and the evidence ledger's verification, the lineage graph "
            "drawn from the OpenLineage events, and dataset and column docs; bundle.json with the same numbers and "
            "lists; data/*.csv; SHA256SUMS with the SHA-256 of every file. Reads the warehouse's marts, so run "
            "`make demo` or the nightly DAG first. Exit status: 0 written, 1 a source is missing or unreadable."
        ),
    )
    report.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="a new or empty folder for the pack (default $SYNTHGOV_HOME/report/<UTC time>/, with "
        "$SYNTHGOV_HOME/report/latest pointing at it)",
    )
    report.add_argument(
        "--lake",
        default=None,
        metavar="URL",
        help="the lake holding the evidence ledger (default $SYNTHGOV_LAKE_URL, else $SYNTHGOV_HOME/lake)",
    )
    report.add_argument(
        "--lineage-file",
        type=Path,
        default=None,
        metavar="FILE",
        help="the OpenLineage event log, JSON lines (default: where synthgov's file transport writes)",
    )
    report.add_argument(
        "--policy-dir", type=Path, default=None, help="default $SYNTHGOV_POLICY_DIR or include/policies"
    )

    add_replay_command(sub)

    sub.add_parser(
        "demo",
        help="the main job end to end: sandbox org, nightly DAG (dag.test), lake, warehouse",
        description="Run the nightly DAG with dag.test() against the sandbox org on the embedded defaults "
        "(what `make demo` does) and print where to look.",
    )
    return parser


def _missing_sandbox_modules() -> list[str]:
    # The `sandbox` extra's modules: an Airflow worker installs synthgov without them.
    return [name for name in ("starlette", "uvicorn", "PIL") if importlib.util.find_spec(name) is None]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "sandbox" and args.sandbox_command == "serve":
        missing = _missing_sandbox_modules()
        if missing:
            print(
                f"synthgov sandbox serve: the sandbox org needs the 'sandbox' extra ({', '.join(missing)} missing); "
                "install it with: pip install 'synthgov[sandbox]'",
                file=sys.stderr,
            )
            return 2
        from synthgov_sandbox.demo.seed import MAX_SCALE
        from synthgov_sandbox.server import serve

        if args.scale > MAX_SCALE:
            print(f"synthgov sandbox serve: --scale must be at most {MAX_SCALE}", file=sys.stderr)
            return 2
        state_dir = args.state_dir or home() / "sandbox"
        try:
            serve(
                host=args.host,
                port=args.port,
                state_dir=state_dir,
                seed=args.seed,
                scale=args.scale,
                page_size=args.page_size,
                seed_value=args.seed_value,
                api_max=args.api_max,
            )
        except OSError as exc:
            print(f"synthgov sandbox serve: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.command == "sandbox" and args.sandbox_command == "summary":
        return run_summary(args.state_dir or home() / "sandbox")
    if args.command == "policies":
        return run_policies(args)
    if args.command == "evidence":
        return run_evidence(args)
    if args.command == "training":
        return run_training_check(args.files)
    if args.command == "report":
        return run_report(args)
    if args.command == "lineage":
        return run_replay_command(args)
    if args.command == "demo":
        import subprocess

        # The demo drives Airflow, which this package never imports; the Airflow glue runs it.
        return subprocess.call([sys.executable, "-m", "synthgov_airflow.demo"])
    return 2


def run_policies(args: argparse.Namespace) -> int:
    from synthgov.extract.config import ConfigError, load_config
    from synthgov.policies import PolicyError, export_for_dbt, load_policies
    from synthgov.warehouse import WarehouseError

    try:
        objects = {s.name for s in load_config().objects}
        columns = None if args.no_warehouse else _warehouse_columns()
        policies = load_policies(args.policy_dir, known_objects=objects, known_columns=columns)
    except (PolicyError, ConfigError, WarehouseError) as exc:
        print(f"synthgov policies {args.policies_command}: {exc}", file=sys.stderr)
        return 1
    if args.policies_command == "export":
        for path in export_for_dbt(policies, args.project_dir):
            print(f"wrote {path}")
    else:
        checked = "the extraction config" + (" and the warehouse's columns" if columns else "")
        print(f"policies in {policies.directory} are valid (checked against {checked})")
    return 0


def run_evidence(args: argparse.Namespace) -> int:
    from synthgov.lake import LakeError, open_lake
    from synthgov.retention.evidence import EvidenceLedger, LedgerError
    from synthgov.settings import SettingsError

    command = f"synthgov evidence {args.evidence_command}"
    try:
        ledger = EvidenceLedger(open_lake(args.lake))
        if args.evidence_command == "verify":
            report = ledger.verify(anchors=args.anchor)
            if report.ok:
                print(report.summary())
                return 0
            print(f"{command}: {report.summary()}", file=sys.stderr)
            for problem in report.problems:
                print(f"  {problem}", file=sys.stderr)
            return 1
        entries = ledger.entries()
    except LedgerError as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return 1
    except (LakeError, SettingsError) as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return 2
    shown = entries[-args.last :] if args.last else entries
    if not shown:
        print(f"evidence ledger {ledger.lake.uri(ledger.prefix)} is empty")
    for entry in shown:
        print(_entry_line(entry))
    return 0


def _entry_line(entry: dict[str, Any]) -> str:
    """One entry in short form: what a person scans for (never the per-record outcomes themselves)."""
    names = ("policy", "policy_id", "run_id", "approver", "rejected_by")
    details = [f"{name}={entry[name]}" for name in names if entry.get(name)]
    if isinstance(entry.get("plan_sha256"), str):
        details.append(f"plan={entry['plan_sha256'][:12]}")
    if isinstance(entry.get("counts"), dict):
        details.append(" ".join(f"{k}={v}" for k, v in sorted(entry["counts"].items())))
    if isinstance(entry.get("outcomes"), list):
        details.append(f"outcomes={len(entry['outcomes'])}")
    sha = str(entry.get("entry_sha256", ""))[:16]
    return f"#{entry.get('seq')!s:<6} {entry.get('timestamp')}  {entry.get('kind')!s:<22} {sha}  {' '.join(details)}"


def run_report(args: argparse.Namespace) -> int:
    from synthgov.lake import LakeError, open_lake
    from synthgov.report import ReportError, build_report
    from synthgov.settings import SettingsError

    try:
        lake = open_lake(args.lake) if args.lake else None
        pack = build_report(args.out, lake=lake, policy_dir=args.policy_dir, events_file=args.lineage_file)
    except (ReportError, LakeError, SettingsError) as exc:
        print(f"synthgov report: {exc}", file=sys.stderr)
        return 1
    print(pack.summary())
    return 0


def run_training_check(files: list[Path]) -> int:
    from synthgov.training.manifest import parse_manifest

    failed = False
    for path in files:
        try:
            manifest = parse_manifest(str(path), path.read_bytes())
        except OSError as exc:
            print(f"{path}: cannot read: {exc.strerror or exc}", file=sys.stderr)
            failed = True
            continue
        for problem in manifest.problems:
            print(problem, file=sys.stderr)
        failed = failed or not manifest.is_valid
        if manifest.is_valid:
            print(f"{path}: valid, {len(manifest.records)} records")
    return 1 if failed else 0


def _warehouse_columns() -> dict[str, set[str]] | None:
    """Raw columns per extracted object, from the warehouse if it has been loaded."""
    from synthgov.extract.config import load_config
    from synthgov.warehouse import open_warehouse

    warehouse = open_warehouse()
    if not warehouse.exists():  # opening would create an empty DuckDB file
        return None
    return warehouse.raw_columns(s.name for s in load_config().objects) or None


def run_summary(state_dir: Path) -> int:
    from synthgov_sandbox.process import SandboxProcess

    print(f"Starting the sandbox org (state in {state_dir}) ...", flush=True)
    with SandboxProcess(state_dir) as org:
        stats = org.control("GET", "stats")
        truth = org.control("GET", "ground-truth")
        describe = org.rest("GET", "sobjects")
    print_demo_summary(org.ready, stats, truth, len(describe["sobjects"]))
    print_how_to_reach(org.ready)
    return 0


def print_demo_summary(ready: dict[str, Any], stats: dict[str, Any], truth: dict[str, Any], n_objects: int) -> None:
    print()
    print(f"Sandbox org: {ready['instance_url']}  (org clock {stats['now']}, {n_objects} objects in describe)")
    print()
    print(f"{'object':<28}{'records':>10}{'recycle bin':>13}")
    for name, counts in sorted(stats["objects"].items()):
        print(f"{name:<28}{counts['records']:>10}{counts['recycle_bin']:>13}")
    labels: Counter[str] = Counter(label for case in truth["cases"] for label in case["labels"])
    print()
    print(f"Planted cases: {len(truth['cases'])} records with ground-truth labels")
    for label, n in sorted(labels.items()):
        print(f"  {label:<38}{n:>5}")
    gap = truth["aggregates"]["lead_score_gap"]
    if "gap" in gap:
        print(
            f"  lead score gap ({gap['model']}): synthetic inputs {gap['synthetic_mean']} "
            f"vs others {gap['authentic_mean']} (n={gap['synthetic_n']}/{gap['authentic_n']})"
        )


def print_how_to_reach(ready: dict[str, Any]) -> None:
    print()
    print(f"The org's state (SQLite, CA, certificates) is kept in {ready['state_dir']}.")
    print("To reach the org, serve it:")
    print("  make sandbox      # prints one JSON line: instance_url (a free port), ca_bundle, client_id,")
    print("                    # client_secret, username, password; then serves until Ctrl-C")
    print(f"  export REQUESTS_CA_BUNDLE={ready['ca_bundle']}")
    print("  curl --cacert $REQUESTS_CA_BUNDLE <instance_url>/__sandbox__          # the control API")
    print("  OAuth 2.0 client credentials: POST <instance_url>/services/oauth2/token")


if __name__ == "__main__":
    sys.exit(main())
