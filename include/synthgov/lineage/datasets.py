"""OpenLineage dataset names for synthgov's stores, and the standard facets it attaches to them.

Naming (https://openlineage.io/docs/spec/naming; namespace = the data source, name = the dataset in it):

- Salesforce object: namespace ``salesforce://<My Domain host>`` (the org's instance URL, port kept
  only when it is not 443), name the object's API name (``Lead``). Salesforce is not in OpenLineage's
  table; this follows its rule of scheme + authority of the service instance.
- Lake: ``file`` + absolute path, or ``s3://<bucket>`` + key (``synthgov.lake`` names them).
- Warehouse tables (the warehouse names its own: ``synthgov.warehouse.Warehouse.lineage_namespace`` and
  ``dataset_name``). DuckDB: ``duckdb://<absolute file path>`` + ``<catalog>.<schema>.<table>``, the catalog being
  the file's stem, which is what DuckDB calls the attached file and what OpenLineage's dbt integration
  emits for dbt-duckdb, so the load's output tables and the dbt models' source tables are one dataset.
  PostgreSQL: ``postgres://<host>:<port>`` + ``<database>.<schema>.<table>`` (the spec's rule).
- A purge removes records, not whole objects or tables, and marking the object's dataset DROP would tell
  Marquez the object is gone (it hides dropped datasets). So the records a plan removed from a store
  are a dataset of their own, ``<object's dataset name>/purges/<plan id>`` in the store's namespace,
  reported with ``LifecycleStateChangeDatasetFacet(DROP)``; see ``purged_set_name``.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from openlineage.client.facet_v2 import (
    lifecycle_state_change_dataset,
    output_statistics_output_dataset,
    schema_dataset,
)

_DEFAULT_PORTS = {"https": 443, "http": 80}


def salesforce_namespace(instance_url: str) -> str:
    """``salesforce://<host>[:port]`` of the org's My Domain URL; the host lower-cased, a default port dropped."""
    parts = urlsplit(instance_url if "://" in instance_url else f"https://{instance_url}")
    if not parts.hostname:
        raise ValueError(f"not an org URL: {instance_url!r} (expected https://<My Domain>.my.salesforce.com)")
    port = parts.port
    keep_port = port is not None and port != _DEFAULT_PORTS.get(parts.scheme or "https")
    return f"salesforce://{parts.hostname}" + (f":{port}" if keep_port else "")


def purged_set_name(container: str, plan_id: str) -> str:
    """The dataset of the records plan ``plan_id`` removed from ``container`` (an object, a folder, a table)."""
    return f"{container.rstrip('/')}/purges/{plan_id}"


def schema_facet(columns: Iterable[tuple[str, str | None, str | None]]) -> schema_dataset.SchemaDatasetFacet:
    """A SchemaDatasetFacet from ``(name, type, description)`` triples, in their order."""
    return schema_dataset.SchemaDatasetFacet(
        fields=[
            schema_dataset.SchemaDatasetFacetFields(name=name, type=kind, description=description, ordinal_position=i)
            for i, (name, kind, description) in enumerate(columns, start=1)
        ]
    )


def output_statistics(
    rows: int | None = None, size: int | None = None, files: int | None = None
) -> output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet:
    return output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
        rowCount=rows, size=size, fileCount=files
    )


def lifecycle(change: str) -> lifecycle_state_change_dataset.LifecycleStateChangeDatasetFacet:
    """``LifecycleStateChangeDatasetFacet`` for ``DROP``, ``OVERWRITE``, ``CREATE``, ..."""
    return lifecycle_state_change_dataset.LifecycleStateChangeDatasetFacet(
        lifecycleStateChange=lifecycle_state_change_dataset.LifecycleStateChange(change)
    )
