"""A Salesforce-compatible sandbox org for synthgov's demo, tests and benchmarks.

`engine` speaks the Salesforce APIs synthgov uses (REST, Bulk 2.0, Tooling, auth, SOQL over
SQLite); `demo` is the demo org with its planted cases and ground truth; `control` is the
`/__sandbox__/` plane that composes the two; `server`, `tls` and `process` run it. The product
(`synthgov`) never imports this package outside its demo and CLI entry points: its web server
and imaging dependencies come with the `sandbox` extra.
"""
