"""Read the lake's training zone (manifests, and the zone's posture) into the raw zone, as Airflow tasks.

Both follow the media inspection: what they read lands in the lake as snapshot runs, and the returned
summary's ``manifests`` are what the warehouse load takes from their XCom.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator

from synthgov_airflow.operators.extract import check_optional_str

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context
    from openlineage.client.event_v2 import Dataset
    from openlineage.client.facet_v2 import JobFacet, RunFacet

    from synthgov.lake import Lake
    from synthgov.training.zone import TrainingZone


class _TrainingZoneOperator(BaseOperator):
    """The zone and the lake both tasks need, and the lineage they report (zone read, raw runs written)."""

    controls: ClassVar[str]  # the job kind in synthgov.lineage.controls.JOB_CONTROLS
    template_fields: Sequence[str] = ("run_id",)

    def __init__(
        self,
        *,
        lake_url: str | None = None,
        training_lake_url: str | None = None,
        run_id: str | None = None,
        aws_conn_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        check_optional_str(self.task_id, "lake_url", lake_url)
        check_optional_str(self.task_id, "training_lake_url", training_lake_url)
        check_optional_str(self.task_id, "run_id", run_id)
        check_optional_str(self.task_id, "aws_conn_id", aws_conn_id)
        self.lake_url = lake_url
        self.training_lake_url = training_lake_url
        self.run_id = run_id
        self.aws_conn_id = aws_conn_id
        self._inputs: list[tuple[str, str]] = []
        self._outputs: list[tuple[str, str]] = []

    def _open(self) -> tuple[Lake, TrainingZone]:
        from synthgov.training.zone import open_training_zone
        from synthgov_airflow.hooks.lake import open_airflow_lake

        lake = open_airflow_lake(self.lake_url, self.aws_conn_id)
        lake.check_writable()
        return lake, open_training_zone(lake, self.training_lake_url)

    def _run_id(self) -> str:
        """The night's run id; an empty one (no plan ran, as when the API budget was spent) makes a new one."""
        from synthgov.lake.runs import new_run_id

        return self.run_id or new_run_id()

    def _record_outputs(self, lake: Lake, manifests: list[dict[str, Any]]) -> None:
        for manifest in manifests:
            for part in manifest["files"]:
                self._outputs.append((lake.namespace, lake.dataset_name(part["key"].rsplit("/", 1)[0])))

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage[Dataset, RunFacet | JobFacet]:
        """The part of the training zone read, and the raw-zone runs written."""
        from airflow.providers.openlineage.extractors import OperatorLineage
        from openlineage.client.event_v2 import InputDataset, OutputDataset

        from synthgov.lineage import controls, facets

        return OperatorLineage(
            inputs=[InputDataset(namespace=ns, name=name) for ns, name in dict.fromkeys(self._inputs)],
            outputs=[OutputDataset(namespace=ns, name=name) for ns, name in dict.fromkeys(self._outputs)],
            job_facets={facets.REGULATORY_CONTROLS_KEY: controls.controls_facet(self.controls)},
        )


class TrainingManifestsOperator(_TrainingZoneOperator):
    """Read every training-data manifest in the training zone and write both snapshot tables.

    Manifests with problems do not fail the task (they become findings); a zone that cannot be read
    does, and takes the task's retries: an empty snapshot then would hide every finding.

    :param lake_url: the lake (default: ``SYNTHGOV_LAKE_URL``, else ``<SYNTHGOV_HOME>/lake``)
    :param training_lake_url: the training zone (default: ``SYNTHGOV_TRAINING_LAKE_URL``, else the
        lake's ``training/`` prefix)
    :param run_id: the run the snapshot belongs to, the night's run id from the plan (templated;
        default, or rendered empty: a new run of its own)
    """

    ui_color = "#e8dcf5"
    controls = "training_manifests"

    def execute(self, context: Context) -> dict[str, Any]:
        from synthgov.training.manifest import MANIFEST_FOLDER, read_training_manifests

        lake, zone = self._open()
        result = read_training_manifests(lake, zone, run_id=self._run_id(), report=self.log.info)
        self._inputs.append((zone.lake.namespace, zone.lake.dataset_name(MANIFEST_FOLDER.rstrip("/"))))
        self._record_outputs(lake, result.manifests)
        for problem in result.problems:
            self.log.warning("training manifest problem: %s", problem)
        self.log.info(
            "read %d training manifests in %s (%d with problems), %d valid record entries",
            result.read,
            zone.uri,
            result.invalid,
            result.records,
        )
        return result.as_dict()


class TrainingLakePostureOperator(_TrainingZoneOperator):
    """Read the training zone's bucket controls with boto3 (credentials and endpoint as the lake's).

    A setting that cannot be read is recorded as an ``error`` outcome (a finding), not a task failure:
    the other controls are still reported. On a local-folder zone every control is not applicable.

    :param lake_url: the lake (default: ``SYNTHGOV_LAKE_URL``, else ``<SYNTHGOV_HOME>/lake``)
    :param training_lake_url: the training zone (default: ``SYNTHGOV_TRAINING_LAKE_URL``, else the
        lake's ``training/`` prefix)
    :param run_id: the run the snapshot belongs to, the night's run id from the plan (templated;
        default, or rendered empty: a new run of its own)
    """

    ui_color = "#e8dcf5"
    controls = "training_lake_posture"

    def execute(self, context: Context) -> dict[str, Any]:
        from synthgov.training.posture import read_training_lake_posture

        lake, zone = self._open()
        result = read_training_lake_posture(lake, zone, run_id=self._run_id(), report=self.log.info)
        self._inputs.append(_zone_dataset(zone))
        self._record_outputs(lake, result.manifests)
        failed = sorted(c for c, status in result.outcomes.items() if status in ("fail", "error"))
        if failed:
            self.log.warning("training zone %s: controls not passing: %s", zone.uri, ", ".join(failed))
        return result.as_dict()


def _zone_dataset(zone: TrainingZone) -> tuple[str, str]:
    """The OpenLineage dataset of the whole zone: its bucket prefix (``/`` for a whole bucket) or its folder."""
    from synthgov.lake import LocalLake, S3Lake

    if isinstance(zone.lake, S3Lake):
        return zone.lake.namespace, zone.lake.prefix or "/"
    if isinstance(zone.lake, LocalLake):
        return zone.lake.namespace, str(zone.lake.root)
    return zone.lake.namespace, zone.uri
