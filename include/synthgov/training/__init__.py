"""The lake's training zone: training-data manifests (consent and provenance) and the zone's posture.

- ``zone``: where the zone is (``training/`` in the lake, or ``SYNTHGOV_TRAINING_LAKE_URL``) and how
  what is read there reaches the raw zone (snapshot runs the warehouse loader appends);
- ``manifest``: the manifest format (``training_manifest.schema.json``), its validation and the
  nightly read;
- ``posture``: the zone's bucket controls, read with boto3.
"""
