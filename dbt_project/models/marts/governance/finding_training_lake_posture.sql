-- The training zone's posture (own bucket or prefix, access logging, public access block,
-- encryption) is not read yet: an empty table with the common finding columns.
{{ empty_findings("training_lake_posture") }}
