"""Quoting values and names into SQL text, for the few places that cannot bind parameters.

Spark's ``replaceWhere`` and table properties, DuckDB views over file lists and secrets, JDBC
queries pushed down as text: the standard rules (a quote doubled inside its quotes) serve
Spark SQL, DuckDB and the sector databases alike, so there is one definition of each.
"""

from __future__ import annotations


def sql_literal(value: str) -> str:
    """``'value'`` with single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def sql_ident(name: str) -> str:
    """``"name"`` with double quotes doubled (DuckDB and standard SQL identifiers)."""
    return '"' + name.replace('"', '""') + '"'
