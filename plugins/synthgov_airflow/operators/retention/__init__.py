"""The retention DAG's steps as operators: each runs its step through ``synthgov.retention`` and reports lineage.

What each step reports (dataset names: ``synthgov.lineage.datasets``):

- ``plan``: reads ``marts.retention_candidates`` and ``marts.provenance_ledger`` and the Salesforce
  objects it re-checks; writes the plan folder in the lake. Job facets: the retention policies in
  force and the regulatory controls.
- ``apply``: reads the plan; writes each Salesforce object it purged, plus the purged records as a
  dataset of their own, marked ``LifecycleStateChangeDatasetFacet(DROP)``.
- ``purge_stores``: rewrites lake run folders (``OVERWRITE``), drops the purged records from the lake
  (``DROP``), removes rows from the warehouse's raw tables.
- ``verify``: reads the Salesforce objects and lake folders it checks.
- ``evidence``: writes the ledger entry (``retention.purge``, or ``retention.rejected`` with who
  rejected and why when the approver rejected the plan); run facet: the purge receipt (purges only).

The task ids a step reads from are its arguments (``plan_task``, ``approve_task``, ``apply_task``,
``purge_task``, ``verify_task``), defaulting to the retention DAG's ids.
"""

from synthgov_airflow.operators.retention.plan import RetentionApprovalBranchOperator, RetentionPlanOperator
from synthgov_airflow.operators.retention.steps import (
    REJECTION_REASON,
    RetentionApplyOperator,
    RetentionApprovalOperator,
    RetentionEvidenceOperator,
    RetentionPurgeStoresOperator,
    RetentionVerifyOperator,
)

__all__ = [
    "REJECTION_REASON",
    "RetentionApplyOperator",
    "RetentionApprovalBranchOperator",
    "RetentionApprovalOperator",
    "RetentionEvidenceOperator",
    "RetentionPlanOperator",
    "RetentionPurgeStoresOperator",
    "RetentionVerifyOperator",
]
