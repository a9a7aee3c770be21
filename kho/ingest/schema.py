"""The schema policy, one rule set for every connector (field-pitfalls row 22).

The registry's ``expected_schema`` is the contract; the raw table is what was accepted so far.
A batch's columns (``found``, after accepted renames are applied) are checked against both:

* a declared column missing from the batch fails it, whatever the policy (removed, or renamed
  at the source without a recorded decision), unless it is declared ``optional``;
* a column the raw table holds that the batch lacks fails it the same way (unless an accepted
  rename or ``optional`` accounts for it);
* a column in the batch that is not declared is accepted under ``evolve`` (raw gains it, older
  rows read null) and fails under ``freeze``;
* a declared column that raw does not hold yet (a data engineer's recorded decision) is
  accepted under both policies: raw gains it.

Every failure names the column(s), the policy and what to do, and happens before anything is
written. Retyped columns are caught by the connectors, which see the types.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence


class SchemaPolicyError(ValueError):
    """A batch's columns differ from the contract in a way its schema policy forbids."""


def check_columns(found: Sequence[str], *, policy: str, where: str, declared: Sequence[str] | None = None,
                  table_columns: Sequence[str] | None = None, aliases: Mapping[str, str] | None = None,
                  optional: Collection[str] = (), renames: Mapping[str, str] | None = None) -> list[str]:
    """Raise :class:`SchemaPolicyError` when the policy forbids the batch; return the columns new to raw.

    ``aliases`` maps an earlier source name to its declared name (accepted renames);
    ``renames`` maps a column to a rename the owner announced but nobody accepted yet (for the hint).
    """
    if policy not in ("freeze", "evolve"):
        raise ValueError(f"schema_policy must be 'freeze' or 'evolve', not {policy!r}")
    aliases, renames, present = aliases or {}, renames or {}, set(found)
    allowed = "accepts only added columns" if policy == "evolve" else "accepts no change"

    def missing_error(missing: list[str], what: str) -> SchemaPolicyError:
        extra = [c for c in found if c not in (declared or table_columns or ())]
        hints = [f"{c} -> {renames[c]}" for c in missing if renames.get(c) in present]
        hint = (f"; looks renamed ({', '.join(hints)})" if hints else
                f"; columns new in the source: {', '.join(extra)}" if extra else "")
        return SchemaPolicyError(
            f"{where}: column(s) {', '.join(missing)} of {what} missing from the source (removed or renamed{hint}); "
            f"schema policy '{policy}' {allowed}; nothing of this batch was written. Record the decision in the "
            f"registry (expected_schema: rename with aliases, or mark optional) once the owner confirms")

    if declared is not None:
        missing = [c for c in declared if c not in present and c not in optional]
        if missing:
            raise missing_error(missing, "the declared schema")
    if table_columns is not None:
        missing = [c for c in table_columns
                   if c not in present and aliases.get(c) not in present and c not in optional]
        if missing:
            raise missing_error(missing, "the raw table")
    reference = declared if declared is not None else table_columns
    undeclared = [c for c in found if c not in reference] if reference is not None else []
    if undeclared and policy == "freeze":
        what = "the declared schema" if declared is not None else "the raw table"
        raise SchemaPolicyError(
            f"{where}: new column(s) {', '.join(undeclared)} not in {what}; schema policy 'freeze' {allowed}; "
            f"nothing of this batch was written. Declare them in expected_schema (and pii_columns if personal)")
    return [c for c in found if table_columns is not None and c not in table_columns]
