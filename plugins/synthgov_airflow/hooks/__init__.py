"""Hooks: Airflow connections turned into synthgov clients."""
