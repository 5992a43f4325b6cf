"""SQLite tables for the sandbox org: one table per object, one column per field."""

from __future__ import annotations

import sqlite3

from synthgov_sandbox.engine.schema import SObject, catalogue


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def table_ddl(obj: SObject) -> list[str]:
    cols = ", ".join(f"{quote(f.name)} {f.sql_type}" for f in obj.fields)
    table = quote(obj.name)
    stmts = [
        f"CREATE TABLE IF NOT EXISTS {table} ({cols})",
        f'CREATE UNIQUE INDEX IF NOT EXISTS {quote("ux_" + obj.name + "_id")} ON {table} ("Id")',
    ]
    if obj.field("SystemModstamp"):
        stmts.append(
            f'CREATE INDEX IF NOT EXISTS {quote("ix_" + obj.name + "_modstamp")} ON {table} ("SystemModstamp", "Id")'
        )
    for f in obj.fields:
        if f.external_id:
            index = quote("ux_" + obj.name + "_" + f.name)
            stmts.append(f"CREATE UNIQUE INDEX IF NOT EXISTS {index} ON {table} ({quote(f.name)})")
    return stmts


def create_tables(conn: sqlite3.Connection) -> None:
    for obj in catalogue().values():
        for stmt in table_ddl(obj):
            conn.execute(stmt)
        _add_missing_columns(conn, obj)


def _add_missing_columns(conn: sqlite3.Connection, obj: SObject) -> None:
    """Give a table made before a field joined the catalogue its column (checkboxes false), so an org
    seeded by an earlier version keeps serving describe and queries that name the field."""
    table = quote(obj.name)
    present = {str(row[1]).lower() for row in conn.execute(f"PRAGMA table_info({table})")}
    for f in obj.fields:
        if f.name.lower() not in present:
            default = " DEFAULT 0" if f.type == "boolean" else ""
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {quote(f.name)} {f.sql_type}{default}")
