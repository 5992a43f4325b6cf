"""Extraction benchmark: synthgov's extractor against the Airflow provider's way, in one run.

The baseline is what the Salesforce provider offers: `SalesforceHook.make_query` (simple-salesforce
`query_all`, every record in memory), `object_to_df` into pandas, then `to_parquet`. synthgov reads
the same Lead fields with its extractor, once over REST pages and once over Bulk API 2.0. Each
variant runs in its own process so peak RSS (ru_maxrss) is its own; API calls are read from the
sandbox's counter before and after.

Targets (issue "Nightly CRM extraction"): peak RSS under 400 MB at 1M and growing under 20% from
100k to 1M; at most one API call per 2,000 records on REST and under 60 calls on Bulk 2.0; at
least 2x faster and 5x less memory than the baseline at 1M.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from synthgov_sandbox.process import SandboxProcess

LEADS_PER_SCALE = 600
FIELDS = (
    "Id, IsDeleted, FirstName, LastName, Company, Title, Email, Phone, Status, LeadSource, Industry, Country, "
    "AnnualRevenue, NumberOfEmployees, OwnerId, IsConverted, AI_Generated__c, AI_Tool__c, AI_Model__c, "
    "AI_Generated_At__c, Synthetic_Persona__c, Lead_Score__c, Score_Model__c, Score_Automated_Decision__c, "
    "CreatedDate, LastModifiedDate, SystemModstamp"
)

_CHILD = r"""
import json, os, resource, sys, time
from pathlib import Path
args = json.loads(sys.argv[1])
t0 = time.perf_counter()
if args["variant"] == "baseline":
    import requests
    from airflow.providers.salesforce.hooks.salesforce import SalesforceHook
    session = requests.Session()
    session.verify = args["ca_bundle"]
    session.trust_env = False
    hook = SalesforceHook(salesforce_conn_id="salesforce_default", session_id=args["token"], session=session)
    result = hook.make_query("SELECT " + args["fields"] + " FROM Lead", include_deleted=True)
    frame = hook.object_to_df(result["records"])
    frame.to_parquet(Path(args["out"]) / "leads.parquet")
    rows = len(frame)
else:
    from synthgov.extract.config import ObjectSpec
    from synthgov.extract.extractor import extract_object
    from synthgov.lake.runs import new_run_id
    from synthgov.lake import LocalLake
    from synthgov.salesforce.connection import Credentials, SalesforceConnection
    creds = Credentials(instance_url=args["instance_url"], session_id=args["token"], ca_bundle=args["ca_bundle"])
    conn = SalesforceConnection(creds)
    now = conn.org_now()
    spec = ObjectSpec("Lead", api=args["variant"], fields=tuple(f.strip() for f in args["fields"].split(",")))
    result = extract_object(conn, LocalLake(Path(args["out"])), spec, run_id=new_run_id(now), run_start=now,
                            report=lambda line: None, bulk_poll_seconds=0.2)
    rows = result.rows
print(json.dumps({"rows": rows, "seconds": time.perf_counter() - t0,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_variant(org: SandboxProcess, variant: str, out: Path) -> dict[str, Any]:
    before = org.control("GET", "stats")["api_usage"]["used"]
    args = {
        "variant": variant,
        "instance_url": org.instance_url,
        "ca_bundle": org.ca_bundle,
        "token": org.token(),
        "fields": FIELDS,
        "out": str(out),
    }
    conn = {"conn_type": "salesforce", "extra": {"instance_url": org.instance_url, "version": "59.0"}}
    env = {**os.environ, "AIRFLOW_CONN_SALESFORCE_DEFAULT": json.dumps(conn), "REQUESTS_CA_BUNDLE": org.ca_bundle}
    env.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="synthgov-bench-airflow-"))
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(args)], capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{variant} failed:\n{done.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    figures["api_calls"] = org.control("GET", "stats")["api_usage"]["used"] - before
    figures["seconds"] = round(figures["seconds"], 2)
    figures["peak_rss_mb"] = round(figures["peak_rss_mb"], 1)
    figures["records_per_api_call"] = round(figures["rows"] / max(figures["api_calls"], 1))
    # Fixed calls per run, whatever the size: token check via limits (org clock) and describe; the
    # baseline makes none of these. The rest are data calls (REST pages, or Bulk create/poll/pages).
    figures["fixed_calls"] = 2 if variant != "baseline" else 0
    figures["records_per_data_call"] = round(figures["rows"] / max(figures["api_calls"] - figures["fixed_calls"], 1))
    return figures


def measure(scale: int, variants: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="synthgov-bench-") as tmp:
        root = Path(tmp)
        print(f"  seeding the demo org at scale {scale} (about {scale * LEADS_PER_SCALE:,} leads) ...", flush=True)
        t0 = time.perf_counter()
        with SandboxProcess(root / "org", scale=scale, start_timeout=1800) as org:
            seeded = time.perf_counter() - t0
            out: dict[str, Any] = {"scale": scale, "seed_seconds": round(seeded, 1)}
            for variant in variants:
                print(f"  {variant} ...", flush=True)
                target = root / variant
                target.mkdir()
                out[variant] = run_variant(org, variant, target)
                print(f"    {json.dumps(out[variant])}", flush=True)
    return out


def dag_import_times() -> dict[str, dict[str, float]]:
    """Each DAG module's import time beyond `import airflow`, in a fresh process: in all, and the part
    left once Cosmos and the object-storage layer it reads the manifest through are loaded."""
    dags = sorted((Path(__file__).resolve().parents[2] / "dags").glob("*.py"))
    code = (
        "import time, importlib.util, sys, json\n"
        "import airflow\n"
        "t0 = time.perf_counter()\n"
        "import cosmos.converter\n"
        "from airflow.sdk import ObjectStoragePath\n"
        "ObjectStoragePath('/tmp').fs\n"
        "t1 = time.perf_counter()\n"
        "spec = importlib.util.spec_from_file_location('dag_module', sys.argv[1])\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "t2 = time.perf_counter()\n"
        "print(json.dumps({'beyond_airflow': round(t2 - t0, 3), 'beyond_cosmos': round(t2 - t1, 3)}))\n"
    )
    env = {**os.environ, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    env.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="synthgov-bench-airflow-"))
    times = {}
    for path in dags:
        done = subprocess.run(
            [sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env, check=False
        )
        times[path.name] = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else {}
    return times


def verdict(small: dict[str, Any], large: dict[str, Any]) -> dict[str, Any]:
    bulk, rest, base = large["bulk"], large["rest"], large["baseline"]
    best = min(bulk["seconds"], rest["seconds"])
    worst_rss = max(bulk["peak_rss_mb"], rest["peak_rss_mb"])
    return {
        "rss_under_400mb_at_large": worst_rss < 400,
        "rss_growth_small_to_large": round(
            worst_rss / max(small["bulk"]["peak_rss_mb"], small["rest"]["peak_rss_mb"]) - 1, 3
        ),
        # Full pages: one data call per 2,000 records, rounded up (the last page is partial).
        "rest_one_data_call_per_2000_records": rest["api_calls"] - rest["fixed_calls"] <= -(-rest["rows"] // 2000),
        "rest_total_calls": rest["api_calls"],
        "bulk_calls_under_60": bulk["api_calls"] < 60,
        "speedup_vs_baseline": round(base["seconds"] / best, 2),
        "memory_ratio_vs_baseline": round(base["peak_rss_mb"] / worst_rss, 2),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench extract", description=__doc__.splitlines()[0])
    parser.add_argument("--small-scale", type=int, default=167, help="about 100k leads")
    parser.add_argument("--large-scale", type=int, default=1667, help="about 1M leads")
    parser.add_argument("--out", type=Path, default=Path(".synthgov/bench/extract.json"))
    args = parser.parse_args(argv)
    variants = ["bulk", "rest", "baseline"]
    print("extraction benchmark (Lead, 27 fields)", flush=True)
    small = measure(args.small_scale, variants)
    large = measure(args.large_scale, variants)
    result = {
        "small": small,
        "large": large,
        "verdict": verdict(small, large),
        "dag_import_seconds": dag_import_times(),
    }
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"written to {args.out}")
    return 0
