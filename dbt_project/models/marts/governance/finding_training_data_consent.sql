-- Training-data manifests are not produced yet (no training zone in the lake): an empty table
-- with the common finding columns, so the summary, the report and the checks can rely on it.
{{ empty_findings("training_data_consent") }}
