"""The Airflow plugin of synthgov.

It carries nothing yet (no UI views or listeners); it exists so that Airflow lists synthgov among
its plugins once the package is registered under the ``airflow.plugins`` entry point, the way
providers register theirs.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin


class SynthgovPlugin(AirflowPlugin):
    name = "synthgov"
