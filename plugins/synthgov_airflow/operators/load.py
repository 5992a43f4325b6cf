"""Load the lake's extracted runs (and this run's media and training-zone findings) into the warehouse, as one task."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from synthgov_airflow.operators.extract import check_optional_str
from synthgov_airflow.pools import WAREHOUSE_POOL

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context
    from openlineage.client.event_v2 import Dataset
    from openlineage.client.facet_v2 import JobFacet, RunFacet

    from synthgov.lake import Lake
    from synthgov.warehouse import LoadResult, Warehouse


class WarehouseLoadOperator(BaseOperator):
    """Append every run in the lake that the warehouse lacks to ``raw_salesforce.<object>`` (or ``raw_synthgov.``).

    Loading is idempotent by run id, so a retried or repeated task never doubles rows, and runs
    left behind by an earlier failed load are picked up by the next one. The warehouse is the one
    the warehouse connection names (else the settings), the one dbt builds on.

    :param objects: the objects to load (default: every object in the extraction config)
    :param lake_url: the lake (default: ``SYNTHGOV_LAKE_URL``, else ``<SYNTHGOV_HOME>/lake``)
    :param aws_conn_id: the AWS connection an S3 lake is reached with (default ``aws_default``)
    :param warehouse_conn_id: the warehouse connection (default ``synthgov_warehouse``); without it the
        settings name the warehouse (``SYNTHGOV_WAREHOUSE``)
    :param media_task_id: the upstream MediaInspectOperator whose findings manifests are loaded too
    :param findings_task_ids: other upstream tasks whose summaries list ``manifests`` to load the same
        way (the training-zone reads)
    :param config_path: the extraction config, when ``objects`` is not given
    """

    ui_color = "#d5f5d5"

    def __init__(
        self,
        *,
        objects: list[str] | None = None,
        lake_url: str | None = None,
        aws_conn_id: str | None = None,
        warehouse_conn_id: str | None = None,
        media_task_id: str | None = None,
        findings_task_ids: list[str] | None = None,
        config_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("pool", WAREHOUSE_POOL)
        super().__init__(**kwargs)
        if objects is not None and (not objects or not all(isinstance(o, str) and o for o in objects)):
            raise ValueError(f"{self.task_id}: objects must be a non-empty list of object names, or None for all")
        for name, value in (
            ("lake_url", lake_url),
            ("config_path", config_path),
            ("aws_conn_id", aws_conn_id),
            ("warehouse_conn_id", warehouse_conn_id),
        ):
            check_optional_str(self.task_id, name, value)
        if media_task_id is not None and not media_task_id:
            raise ValueError(f"{self.task_id}: media_task_id must name a task, or be None")
        if findings_task_ids is not None and not all(isinstance(t, str) and t for t in findings_task_ids):
            raise ValueError(f"{self.task_id}: findings_task_ids must be a list of task ids, or None")
        self.objects = objects
        self.lake_url = lake_url
        self.aws_conn_id = aws_conn_id
        self.warehouse_conn_id = warehouse_conn_id
        self.media_task_id = media_task_id
        self.findings_task_ids = list(findings_task_ids or [])
        self.config_path = config_path
        self._inputs: list[tuple[str, str]] = []
        self._outputs: list[tuple[str, str]] = []
        self._written: dict[tuple[str, str], dict[str, int]] = {}  # rows and files appended per table
        self._columns: dict[tuple[str, str], list[tuple[str, str]]] = {}

    def execute(self, context: Context) -> list[dict[str, Any]]:
        from synthgov.extract.config import ConfigError, load_config
        from synthgov.extract.run import load_all
        from synthgov_airflow.hooks.lake import open_airflow_lake
        from synthgov_airflow.hooks.warehouse import open_airflow_warehouse

        objects = self.objects
        if objects is None:
            try:
                config = load_config(Path(self.config_path) if self.config_path else None)
            except ConfigError as exc:
                raise AirflowFailException(f"{exc}; fix the extraction config") from None
            objects = [spec.name for spec in config.objects]
        findings: list[dict[str, Any]] = []
        for task_id in [t for t in (self.media_task_id, *self.findings_task_ids) if t]:
            # None when the task was skipped (e.g. the API budget spent): its runs stay pending for the next run.
            pulled = context["ti"].xcom_pull(task_ids=task_id)
            if isinstance(pulled, dict):
                findings += list(pulled.get("manifests") or [])
        lake = open_airflow_lake(self.lake_url, self.aws_conn_id)
        warehouse = open_airflow_warehouse(self.warehouse_conn_id)
        results = load_all(lake, warehouse, objects, findings)
        self._record_lineage(lake, warehouse, results)
        for r in results:
            self.log.info("%s run %s: %d rows into %s", r.object, r.run_id, r.rows, r.table)
        self.log.info("loaded %d runs, %d rows", len(results), sum(r.rows for r in results))
        return [
            {
                "object": r.object,
                "run_id": r.run_id,
                "table": r.table,
                "rows": r.rows,
                "files": r.files,
                "replaced_rows": r.replaced_rows,
                "added_columns": list(r.added_columns),
            }
            for r in results
        ]

    def _record_lineage(self, lake: Lake, warehouse: Warehouse, results: list[LoadResult]) -> None:
        """Remember each loaded run's lake folder and its table."""
        columns = warehouse.columns({r.table for r in results})
        for r in results:
            # Without its trailing slash: the dataset is the run folder, named as the extract task names it.
            self._inputs.append((lake.namespace, lake.dataset_name(r.folder.rstrip("/"))))
            table = (warehouse.lineage_namespace, warehouse.dataset_name(r.table))
            self._outputs.append(table)
            written = self._written.setdefault(table, {"rows": 0, "files": 0})
            written["rows"] += r.rows
            written["files"] += r.files
            self._columns[table] = columns.get(r.table, [])

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage[Dataset, RunFacet | JobFacet]:
        """The lake run folders read and the ``raw_salesforce`` tables appended to (columns from the warehouse)."""
        from airflow.providers.openlineage.extractors import OperatorLineage
        from openlineage.client.event_v2 import InputDataset, OutputDataset

        from synthgov.lineage import controls, datasets, facets

        return OperatorLineage(
            inputs=[InputDataset(namespace=ns, name=name) for ns, name in dict.fromkeys(self._inputs)],
            outputs=[
                OutputDataset(
                    namespace=ns,
                    name=name,
                    facets={
                        "schema": datasets.schema_facet((c, t, None) for c, t in self._columns.get((ns, name), []))
                    },
                    outputFacets={"outputStatistics": datasets.output_statistics(**self._written[(ns, name)])},
                )
                for ns, name in dict.fromkeys(self._outputs)
            ],
            job_facets={facets.REGULATORY_CONTROLS_KEY: controls.controls_facet("warehouse_load")},
        )
