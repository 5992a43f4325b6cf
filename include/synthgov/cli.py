"""The `synthgov` command line."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

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

    sub.add_parser(
        "demo",
        help="the main job end to end: sandbox org, nightly DAG (dag.test), lake, warehouse",
        description="Run the nightly DAG with dag.test() against the sandbox org on the embedded defaults "
        "(what `make demo` does) and print where to look.",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "sandbox" and args.sandbox_command == "serve":
        from synthgov.sandbox.seed import MAX_SCALE
        from synthgov.sandbox.server import serve

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
    if args.command == "demo":
        import subprocess

        # The demo drives Airflow, which this package never imports; the Airflow glue runs it.
        return subprocess.call([sys.executable, "-m", "synthgov_airflow.demo"])
    return 2


def run_policies(args: argparse.Namespace) -> int:
    from synthgov.extract.config import ConfigError, load_config
    from synthgov.policies import PolicyError, export_for_dbt, load_policies

    try:
        objects = {s.name for s in load_config().objects}
        columns = None if args.no_warehouse else _warehouse_columns()
        policies = load_policies(args.policy_dir, known_objects=objects, known_columns=columns)
    except (PolicyError, ConfigError) as exc:
        print(f"synthgov policies {args.policies_command}: {exc}", file=sys.stderr)
        return 1
    if args.policies_command == "export":
        for path in export_for_dbt(policies, args.project_dir):
            print(f"wrote {path}")
    else:
        checked = "the extraction config" + (" and the warehouse's columns" if columns else "")
        print(f"policies in {policies.directory} are valid (checked against {checked})")
    return 0


def _warehouse_columns() -> dict[str, set[str]] | None:
    """Raw columns per extracted object, from the DuckDB warehouse if it has been loaded."""
    import duckdb

    from synthgov.extract.config import load_config
    from synthgov.settings import duckdb_path

    path = duckdb_path()
    if not path.exists():
        return None
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'raw_salesforce'"
        ).fetchall()
    by_table: dict[str, set[str]] = {}
    for table, column in rows:
        by_table.setdefault(str(table), set()).add(str(column))
    return {s.name: by_table[s.name.lower()] for s in load_config().objects if s.name.lower() in by_table} or None


def run_summary(state_dir: Path) -> int:
    from synthgov.sandbox.process import SandboxProcess

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
