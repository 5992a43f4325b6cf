"""Extract one Salesforce object into the lake (incremental or snapshot), as one Airflow task."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from synthgov_airflow.hooks.lake import open_airflow_lake
from synthgov_airflow.hooks.salesforce import SynthgovSalesforceHook

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context
    from openlineage.client.event_v2 import Dataset
    from openlineage.client.facet_v2 import JobFacet, RunFacet

# The lake's rule for object names in keys; checked here so a typo fails at parse time, not in the task.
_OBJECT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def check_optional_str(owner: str, name: str, value: str | None) -> None:
    """Refuse an empty string where None means "use the default": an empty path would silently mean the cwd."""
    if value is not None and not value.strip():
        raise ValueError(f"{owner}: {name} must not be empty; leave it out (None) for the default")


def salesforce_namespace(instance_url: str) -> str:
    """The OpenLineage namespace of an org's objects: ``salesforce://<My Domain host>`` (see synthgov.lineage)."""
    from synthgov.lineage.datasets import salesforce_namespace as namespace

    return namespace(instance_url)


class SalesforceExtractOperator(BaseOperator):
    """Extract ``object_name`` as configured in the extraction config and return the run's summary.

    An exhausted API budget skips the task rather than failing it: the object's watermark has not
    moved, so the next run reads the whole window. An object missing from the extraction config fails
    without retries, because retrying cannot fix it. Other errors (ExtractionError, and BulkQueryError
    for failed Bulk jobs and cut-off pages) take the task's retries.

    :param object_name: the sObject API name, as listed in the extraction config (templated, mappable)
    :param salesforce_conn_id: the Airflow connection of the org
    :param lake_url: the lake (default: ``SYNTHGOV_LAKE_URL``, else ``<SYNTHGOV_HOME>/lake``)
    :param aws_conn_id: the AWS connection an S3 lake is reached with (default ``SYNTHGOV_AWS_CONN_ID``,
        ``aws_default``; the environment's credentials when it does not exist)
    :param config_path: the extraction config (default: ``SYNTHGOV_EXTRACT_CONFIG``, else the bundled file)
    :param run_id: the extraction run this task is part of (default: a new run of its own)
    :param window_end: ISO end of the run's incremental window, shared by every object of the run
        (default: the org's clock now, minus the configured lag)
    :param run_share: this task's share of the org's daily API budget (default ``SYNTHGOV_API_RUN_SHARE``);
        a run of N mapped objects gives each 1/N of the run's share
    """

    template_fields: Sequence[str] = ("object_name", "run_id", "window_end")
    ui_color = "#cfe8fc"

    def __init__(
        self,
        *,
        object_name: str,
        salesforce_conn_id: str = SynthgovSalesforceHook.default_conn_name,
        lake_url: str | None = None,
        aws_conn_id: str | None = None,
        config_path: str | None = None,
        run_id: str | None = None,
        window_end: str | None = None,
        run_share: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if run_share is not None and not 0 < run_share <= 1:
            raise ValueError(f"{self.task_id}: run_share must be in (0, 1], got {run_share}")
        # A Jinja template is only known at run time; anything else must already be an sObject name.
        if "{{" not in object_name and not _OBJECT_NAME.fullmatch(object_name):
            raise ValueError(f"{self.task_id}: object_name {object_name!r} is not a Salesforce object API name")
        if not salesforce_conn_id:
            raise ValueError(f"{self.task_id}: salesforce_conn_id must name an Airflow connection")
        check_optional_str(self.task_id, "lake_url", lake_url)
        check_optional_str(self.task_id, "aws_conn_id", aws_conn_id)
        check_optional_str(self.task_id, "config_path", config_path)
        self.object_name = object_name
        self.salesforce_conn_id = salesforce_conn_id
        self.lake_url = lake_url
        self.aws_conn_id = aws_conn_id
        self.config_path = config_path
        self.run_id = run_id
        self.window_end = window_end
        self.run_share = run_share
        # What execute learnt, for the OpenLineage facets reported when the task completes.
        self._source_namespace: str | None = None
        self._columns: list[dict[str, Any]] = []
        self._output: tuple[str, str] | None = None
        self._written: dict[str, int] = {}

    def execute(self, context: Context) -> dict[str, Any]:
        import json
        from datetime import datetime

        from synthgov.extract.config import ConfigError, load_config
        from synthgov.extract.extractor import extract_object
        from synthgov.lake.runs import new_run_id
        from synthgov.salesforce.connection import ApiLimitReached, window_end
        from synthgov.settings import Settings

        settings = Settings.from_env()
        try:
            config = load_config(Path(self.config_path) if self.config_path else None)
            spec = config.get(self.object_name)
        except ConfigError as exc:
            raise AirflowFailException(f"{exc}; fix the extraction config") from None
        lake = open_airflow_lake(self.lake_url, self.aws_conn_id)
        lake.check_writable()
        conn = SynthgovSalesforceHook(self.salesforce_conn_id).get_conn(run_share=self.run_share)
        self._source_namespace = salesforce_namespace(conn.creds.instance_url)
        try:
            if self.window_end:
                run_start = datetime.fromisoformat(self.window_end)
            else:
                run_start = window_end(conn.org_now(), settings.window_lag_seconds)
            result = extract_object(
                conn,
                lake,
                spec,
                run_id=self.run_id or new_run_id(run_start),
                run_start=run_start,
                bulk_threshold=config.bulk_threshold,
                part_rows=settings.part_rows,
                page_size=settings.page_size,
                bulk_poll_seconds=settings.bulk_poll_seconds,
                report=self.log.info,
            )
        except ApiLimitReached as exc:
            raise AirflowSkipException(
                f"{self.object_name} not extracted: {exc}; its watermark did not move, the next run catches up"
            ) from None
        # The result names the manifest but not the columns; the manifest has both.
        manifest = json.loads(lake.get_bytes(result.manifest_key))
        self._columns = list(manifest.get("columns", []))
        self._output = (lake.namespace, lake.dataset_name(result.manifest_key.rsplit("/", 1)[0]))
        parts = manifest.get("files", [])
        self._written = {
            "rows": int(manifest.get("rows", 0)),
            "files": len(parts),
            "size": sum(int(p.get("bytes", 0)) for p in parts),
        }
        self.log.info("API budget after %s: %s", self.object_name, conn.budget.summary())
        return result.as_dict()

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage[Dataset, RunFacet | JobFacet]:
        """The Salesforce object read (its fields from describe) and the lake run folder written (same columns)."""
        from airflow.providers.openlineage.extractors import OperatorLineage
        from openlineage.client.event_v2 import InputDataset, OutputDataset

        from synthgov.lineage import controls, datasets, facets

        job_facets: dict[str, RunFacet | JobFacet] = {
            facets.REGULATORY_CONTROLS_KEY: controls.controls_facet("salesforce_extract")
        }
        if self._source_namespace is None or self._output is None:
            return OperatorLineage(job_facets=job_facets)
        columns = [
            (
                str(c["name"]),
                str(c.get("type")),
                f"SOQL {c['path']}" if c.get("path") not in (None, c["name"]) else None,
            )
            for c in self._columns
        ]
        source = InputDataset(
            namespace=self._source_namespace, name=self.object_name, facets={"schema": datasets.schema_facet(columns)}
        )
        namespace, name = self._output
        written = OutputDataset(
            namespace=namespace,
            name=name,
            facets={"schema": datasets.schema_facet(columns)},
            outputFacets={"outputStatistics": datasets.output_statistics(**self._written)},
        )
        return OperatorLineage(inputs=[source], outputs=[written], job_facets=job_facets)
