"""Inspect the media files of extracted ContentVersion runs (C2PA provenance), as one Airflow task."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowSkipException

from synthgov_airflow.hooks.lake import open_airflow_lake
from synthgov_airflow.hooks.salesforce import SynthgovSalesforceHook
from synthgov_airflow.operators.extract import check_optional_str, salesforce_namespace

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context
    from openlineage.client.event_v2 import Dataset
    from openlineage.client.facet_v2 import JobFacet, RunFacet

MEDIA_SOURCE_OBJECT = "ContentVersion"


class MediaInspectOperator(BaseOperator):
    """Inspect every ContentVersion run in the lake not inspected yet; findings go to the lake.

    The files are fetched from the org (``VersionData``) and never stored: only the findings are.
    An exhausted API budget skips the task; the runs stay pending and the next run inspects them.
    The returned summary's ``manifests`` are what the warehouse load takes from this task's XCom.

    :param salesforce_conn_id: the Airflow connection of the org
    :param lake_url: the lake (default: ``SYNTHGOV_LAKE_URL``, else ``<SYNTHGOV_HOME>/lake``)
    :param aws_conn_id: the AWS connection an S3 lake is reached with (default ``aws_default``)
    """

    ui_color = "#fde2c4"

    def __init__(
        self,
        *,
        salesforce_conn_id: str = SynthgovSalesforceHook.default_conn_name,
        lake_url: str | None = None,
        aws_conn_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not salesforce_conn_id:
            raise ValueError(f"{self.task_id}: salesforce_conn_id must name an Airflow connection")
        check_optional_str(self.task_id, "lake_url", lake_url)
        check_optional_str(self.task_id, "aws_conn_id", aws_conn_id)
        self.salesforce_conn_id = salesforce_conn_id
        self.lake_url = lake_url
        self.aws_conn_id = aws_conn_id
        self._source_namespace: str | None = None
        self._inputs: list[tuple[str, str]] = []
        self._outputs: list[tuple[str, str]] = []
        self._rows: dict[str, int] = {}  # findings written per output folder

    def execute(self, context: Context) -> dict[str, Any]:
        from datetime import date

        from synthgov import lake as lakes
        from synthgov.extract.media import inspect_pending
        from synthgov.provenance.trust import load_c2pa_trust
        from synthgov.salesforce.connection import ApiLimitReached
        from synthgov.settings import Settings

        settings = Settings.from_env()
        lake = open_airflow_lake(self.lake_url, self.aws_conn_id)
        lake.check_writable()
        conn = SynthgovSalesforceHook(self.salesforce_conn_id).get_conn()
        self._source_namespace = salesforce_namespace(conn.creds.instance_url)
        try:
            result = inspect_pending(
                conn, lake, max_bytes=settings.media_max_bytes, trust=load_c2pa_trust(), report=self.log.info
            )
        except ApiLimitReached as exc:
            raise AirflowSkipException(
                f"media inspection stopped: {exc}; the runs not inspected stay pending for the next run"
            ) from None
        for manifest in result.manifests:
            run_date = date.fromisoformat(manifest["run_date"])
            source = lakes.run_prefix(MEDIA_SOURCE_OBJECT, run_date, manifest["run_id"]).rstrip("/")
            self._inputs.append((lake.namespace, lake.dataset_name(source)))
            for part in manifest["files"]:
                folder = lake.dataset_name(part["key"].rsplit("/", 1)[0])
                self._outputs.append((lake.namespace, folder))
                self._rows[folder] = self._rows.get(folder, 0) + int(part.get("rows", 0))
        self.log.info(
            "inspected %d files in %d runs: %d with a C2PA manifest, %d AI-generated; not inspected: %s",
            result.inspected,
            len(result.runs),
            result.with_manifest,
            result.ai_generated,
            result.not_inspected_summary(),
        )
        return result.as_dict()

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage[Dataset, RunFacet | JobFacet]:
        """ContentVersion files read from the org and the lake runs inspected; the findings written."""
        from airflow.providers.openlineage.extractors import OperatorLineage
        from openlineage.client.event_v2 import InputDataset, OutputDataset

        from synthgov.lineage import controls, datasets, facets

        job_facets: dict[str, RunFacet | JobFacet] = {
            facets.REGULATORY_CONTROLS_KEY: controls.controls_facet("media_inspection")
        }
        if self._source_namespace is None or not self._outputs:
            return OperatorLineage(job_facets=job_facets)
        inputs: list[Dataset] = [InputDataset(namespace=self._source_namespace, name=MEDIA_SOURCE_OBJECT)]
        inputs += [InputDataset(namespace=ns, name=name) for ns, name in dict.fromkeys(self._inputs)]
        outputs: list[Dataset] = [
            OutputDataset(
                namespace=ns,
                name=name,
                outputFacets={"outputStatistics": datasets.output_statistics(rows=self._rows.get(name))},
            )
            for ns, name in dict.fromkeys(self._outputs)
        ]
        return OperatorLineage(inputs=inputs, outputs=outputs, job_facets=job_facets)
