"""The emulator: Salesforce REST, Bulk 2.0, Tooling, auth and SOQL over a SQLite store; knows no demo data."""
