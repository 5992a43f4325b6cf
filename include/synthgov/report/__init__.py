"""The regulator evidence pack: one self-contained folder an auditor opens offline.

``build_report()`` (``synthgov report``, and the last task of the nightly and retention DAGs) reads
the marts, the policy files, the evidence ledger, the OpenLineage event log and dbt's docs, and writes

- ``index.html``: the pack for people. No script, style sheet, font or image comes from anywhere
  else; the charts and the lineage graph are inline SVG computed in Python;
- ``bundle.json``: the same numbers and lists for machines;
- ``data/*.csv``: the long lists (findings, candidates, receipts, outcomes, runs, columns);
- ``SHA256SUMS``: the SHA-256 of every other file, as ``sha256sum -c`` reads it.
"""

from synthgov.report.build import Pack, build_report, report_root
from synthgov.report.collect import ReportError

__all__ = ["Pack", "ReportError", "build_report", "report_root"]
