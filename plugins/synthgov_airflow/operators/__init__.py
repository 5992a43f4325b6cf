"""Operators: thin wrappers over synthgov's domain functions that report OpenLineage facets."""
