"""Salesforce to lake extraction: configuration, per-object extraction, media inspection, runs."""
