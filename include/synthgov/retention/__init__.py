"""Retention purges: plan, apply, purge the lake, verify, and the evidence ledger that proves what was done."""
