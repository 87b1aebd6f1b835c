"""Filters and orderings compiled to DuckDB SQL with bound parameters.

Every value a user wrote reaches DuckDB as a parameter; keys become parameters too (each field
is a join on its key), and the only names formatted into SQL are aliases made here. Leaves are
wrapped in ``coalesce(..., false)`` so NOT is the complement a user expects: ``not params.lr >
1e-3`` includes runs without ``lr``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from trackbook import filters
from trackbook.errors import FilterError
from trackbook.filters import BoolOp, Compare, Field, In, IsNull, Literal, Node, Not
from trackbook.schema import (
    CORE,
    PARAM_EXPRS,
    STATUSES,
    SUMMARY_COLUMNS,
    SUMMARY_EXPRS,
    TAG_CURRENT,
)

RUNS = f"{CORE}.run_state"
TIME_ATTRS = {"start_time", "end_time"}
NUMBER_ATTRS = {"duration_s"}
NUMERIC_TYPES = "('int', 'float')"
SQL_OPS = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


@dataclass
class _Joined:
    """One field's per-run subquery: its alias, its key, the columns asked of it."""

    kind: str
    alias: str
    key: str
    columns: set[str] = field(default_factory=set)


class FieldTables(Protocol):
    """Where each run's current value of a field may already be kept (fieldcache.Fields):
    a table name, or None to group the field's log in the query."""

    def table(self, kind: str, key: str, columns: set[str]) -> str | None: ...


@dataclass
class Compiled:
    """SQL pieces over ``run_state`` aliased ``r``: joins, a WHERE condition, an ORDER BY."""

    where: str = "true"
    order: str = "r.start_time DESC, r.run_id"
    params: dict[str, Any] = field(default_factory=dict)
    tables: FieldTables | None = None  # kept per-field tables to join instead of grouping
    _fields: dict[tuple[str, str], _Joined] = field(default_factory=dict)

    def bind(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"${name}"

    def column(self, target: Field, column: str) -> str:
        """``alias.column`` of the joined subquery holding ``target`` for each run.

        One join per distinct field; it computes only the columns asked for (a metric's
        summary has eight, a filter on its last value needs one).
        """
        key = (target.kind, target.key)
        joined = self._fields.get(key)
        if joined is None:
            joined = self._fields[key] = _Joined(target.kind, f"f{len(self._fields)}",
                                                 target.key)
        if column != "run_id":
            joined.columns.add(column)
        return f"{joined.alias}.{column}"

    def joins(self) -> list[str]:
        """The fields' joins, once every column of them was asked for (binds their keys)."""
        return [f"LEFT JOIN {self._source(j)} {j.alias} ON {j.alias}.run_id = r.run_id"
                for j in self._fields.values()]

    def _source(self, joined: _Joined) -> str:
        kept = self.tables.table(joined.kind, joined.key, joined.columns) if self.tables else None
        return kept or current_of_key(joined.kind, self.bind(joined.key), joined.columns)


def compile_filter(where: str | None, compiled: Compiled | None = None) -> Compiled:
    compiled = compiled or Compiled()
    if where is not None and str(where).strip():
        compiled.where = _node(filters.parse(where), compiled, where)
    return compiled


def compile_order(order_by: Any, compiled: Compiled) -> Compiled:
    terms = filters.parse_order(order_by)
    if not terms:
        return compiled
    parts = []
    for term in terms:
        direction = "DESC" if term.descending else "ASC"
        for expr in _order_exprs(term.field, compiled):
            parts.append(f"{expr} {direction} NULLS LAST")
    compiled.order = ", ".join([*parts, "r.start_time DESC", "r.run_id"])
    return compiled


def _order_exprs(target: Field, c: Compiled) -> list[str]:
    if target.kind == "attr":
        return [f"r.{target.key}"]
    if target.kind == "dataset":
        raise FilterError("runs cannot be ordered by a dataset field")
    if target.kind == "metric":
        return [c.column(target, target.agg)]
    if target.kind == "param":
        return [c.column(target, "num"), c.column(target, "value")]
    return [c.column(target, "value")]


def current_of_key(kind: str, bound: str, columns: set[str] | None = None) -> str:
    """Per run, the current value(s) of one param / metric summary / tag key.

    Grouping the log of one key by run is much cheaper than going through the views, which
    group every key of every run. ``columns`` limits what is computed (default: all).
    """
    if kind == "param":
        names = [n for n in PARAM_EXPRS if columns is None or n in columns or n == "type"]
        exprs = ", ".join(f"{PARAM_EXPRS[n]} AS {n}" for n in names)
        return (f"(SELECT run_id, {exprs} FROM {CORE}.params_log "
                f"WHERE key = {bound} GROUP BY run_id)")
    if kind == "metric":
        names = [n for n in SUMMARY_EXPRS if columns is None or n in columns]
        exprs = "".join(f", {SUMMARY_EXPRS[n]} AS {n}" for n in names)
        return (f"(SELECT run_id{exprs} FROM {CORE}.metric_partials "
                f"WHERE key = {bound} GROUP BY run_id)")
    return (f"(SELECT run_id, value FROM (SELECT run_id, {TAG_CURRENT} FROM {CORE}.tags_log "
            f"WHERE key = {bound} GROUP BY run_id) WHERE NOT removed)")


FEW = 64  # lists up to this long are tested per row; longer ones are joined


def member(column: str, bound: str, size: int) -> str:
    """``column`` is in the bound VARCHAR list ``bound`` of ``size`` items.

    For a short list ``list_contains`` is a filter the scan applies (a page of 25 runs'
    params in a 100k-run store: 11 ms, against 52 ms for ``IN (SELECT unnest(...))``); its
    cost grows with the list, so long lists are joined instead.
    """
    if size <= FEW:
        return f"list_contains({bound}::VARCHAR[], {column})"
    return f"{column} IN (SELECT unnest({bound}::VARCHAR[]))"


def summaries_of(runs: str, n_runs: int, keys: str | None = None, n_keys: int = 0) -> str:
    """``metric_summary`` rows (run_id, key, last, ..., count, last_time) of the ``n_runs``
    runs in the bound list ``runs`` (and ``n_keys`` keys in ``keys``), straight from the
    partial summaries.

    The view groups every run's partials before any filter applies: for the 25 runs of a page
    in a 10k-run store that is 30-400 ms, against 6-10 ms here.
    """
    where = member("run_id", runs, n_runs)
    if keys is not None:
        where += " AND " + member("key", keys, n_keys)
    return (f"(SELECT run_id, key, {SUMMARY_COLUMNS} FROM {CORE}.metric_partials "
            f"WHERE {where} GROUP BY run_id, key)")


# -- the tree -------------------------------------------------------------------------------------

def _node(node: Node, c: Compiled, text: str) -> str:
    if isinstance(node, BoolOp):
        joiner = f" {node.op.upper()} "
        return "(" + joiner.join(_node(item, c, text) for item in node.items) + ")"
    if isinstance(node, Not):
        return f"(NOT {_node(node.item, c, text)})"
    if isinstance(node, IsNull):
        return _is_null(node, c)
    if isinstance(node, In):
        parts = [_compare(Compare(node.field, "=", v), c, text) for v in node.values]
        inside = "(" + " OR ".join(parts) + ")"
        return f"(NOT {inside})" if node.negated else inside
    return _compare(node, c, text)


def _is_null(node: IsNull, c: Compiled) -> str:
    target = node.field
    if target.kind == "attr":
        test = f"r.{target.key} IS NULL"
    elif target.kind == "dataset":
        test = "NOT EXISTS (SELECT 1 FROM main.inputs i WHERE i.run_id = r.run_id)"
    else:
        test = f"{c.column(target, 'run_id')} IS NULL"
        if target.kind == "param":
            test = f"({test} OR {c.column(target, 'type')} = 'none')"
        elif target.kind == "metric" and target.agg != "last":
            test = f"{c.column(target, target.agg)} IS NULL"
    return f"(NOT ({test}))" if node.negated else f"({test})"


def _compare(node: Compare, c: Compiled, text: str) -> str:
    kind = node.field.kind
    if kind == "attr":
        sql = _attr_compare(node, c, text)
    elif kind == "param":
        sql = _param_compare(node, c)
    elif kind == "metric":
        sql = _metric_compare(node, c, text)
    elif kind == "tag":
        sql = _text_compare(c.column(node.field, "value"), node, c)
    else:
        sql = _dataset_compare(node, c)
    return f"coalesce({sql}, false)"


def _text_compare(column: str, node: Compare, c: Compiled) -> str:
    value = node.value.text if not node.value.quoted else node.value.value
    if isinstance(node.value.value, bool):
        value = node.value.text
    return _apply(column, node, c.bind(str(value)))


def _apply(column: str, node: Compare, bound: str) -> str:
    """``column OP bound`` for any operator, LIKE family included."""
    if node.op in ("like", "ilike"):
        sql = f"{column} {node.op.upper()} {bound}"
    elif node.op == "rlike":
        sql = f"regexp_matches({column}, {bound})"
    else:
        sql = f"{column} {SQL_OPS[node.op]} {bound}"
    return f"(NOT {sql})" if node.negated else sql


def _number(literal: Literal) -> float | None:
    """The literal as a number: a number, or a quoted string that parses as one."""
    if isinstance(literal.value, bool):
        return None
    if isinstance(literal.value, float):
        return literal.value
    try:
        number = float(str(literal.value).strip())
    except ValueError:
        return None
    return number if not math.isnan(number) or "nan" in str(literal.value).lower() else None


def _param_compare(node: Compare, c: Compiled) -> str:
    kind, num = c.column(node.field, "type"), c.column(node.field, "num")
    literal = node.value
    if node.op in ("like", "ilike", "rlike"):
        return _apply(c.column(node.field, "value"), node, c.bind(str(literal.value)))
    if isinstance(literal.value, bool):
        flag = _apply(num, node, c.bind(1.0 if literal.value else 0.0))
        return f"({kind} = 'bool' AND {flag})"
    number = _number(literal)
    if not literal.quoted:  # a bare number compares with numeric params only
        as_number = _apply(num, node, c.bind(number))
        return f"({kind} IN {NUMERIC_TYPES} AND {as_number})"
    text = c.column(node.field, "value")
    as_text = _apply(text, node, c.bind(str(literal.value)))
    if node.op in ("=", "!="):  # booleans stored as 'True' match 'true' too
        as_text = (f"CASE WHEN {kind} = 'bool' THEN "
                   f"{_apply(f'lower({text})', node, c.bind(str(literal.value).lower()))} "
                   f"ELSE {as_text} END")
    if number is None:
        return f"(CASE WHEN {kind} IN {NUMERIC_TYPES} THEN false ELSE {as_text} END)"
    as_number = _apply(num, node, c.bind(number))
    return f"(CASE WHEN {kind} IN {NUMERIC_TYPES} THEN {as_number} ELSE {as_text} END)"


def _metric_compare(node: Compare, c: Compiled, text: str) -> str:
    if node.op in ("like", "ilike", "rlike"):
        raise FilterError(f"metrics are numbers: {node.op.upper()} does not apply", text,
                          node.value.position)
    number = _number(node.value)
    if number is None:
        raise FilterError(
            f"metrics compare with numbers, not {node.value.text!r}", text, node.value.position
        )
    return _apply(c.column(node.field, node.field.agg), node, c.bind(number))


def _attr_compare(node: Compare, c: Compiled, text: str) -> str:
    name = node.field.key
    column = f"r.{name}"
    if name in TIME_ATTRS:
        return _apply(column, node, _time_value(node.value, c, text))
    if name in NUMBER_ATTRS:
        number = _number(node.value)
        if number is None:
            raise FilterError(f"{name} is a number of seconds, not {node.value.text!r}", text,
                              node.value.position)
        return _apply(column, node, c.bind(number))
    if name == "status":
        value = str(node.value.value).lower()
        if node.op in ("=", "!=") and value not in STATUSES:
            raise FilterError(f"unknown status {node.value.value!r}; statuses are "
                              f"{', '.join(STATUSES)}", text, node.value.position)
        return _apply(f"lower({column})", node, c.bind(value))
    return _text_compare(column, node, c)


def _time_value(literal: Literal, c: Compiled, text: str) -> str:
    """Numbers are epoch milliseconds (as in MLflow); strings are ISO dates or times."""
    if not literal.quoted and isinstance(literal.value, float):
        return f"to_timestamp({c.bind(literal.value / 1000.0)})"
    try:
        moment = datetime.fromisoformat(str(literal.value).replace("Z", "+00:00"))
    except ValueError:
        raise FilterError(
            f"{literal.text!r} is not a time: use an ISO date like '2026-11-22' or "
            "'2026-11-22T14:00', or epoch milliseconds", text, literal.position,
        ) from None
    return f"CAST({c.bind(moment.isoformat())} AS TIMESTAMPTZ)"


def _dataset_compare(node: Compare, c: Compiled) -> str:
    column = f"i.{node.field.agg}"
    inner = _text_compare(column, node, c)
    return f"EXISTS (SELECT 1 FROM main.inputs i WHERE i.run_id = r.run_id AND {inner})"


# -- the runs query -------------------------------------------------------------------------------

def select_runs(
    where: str | None = None,
    experiment: str | list[str] | None = None,
    order_by: Any = None,
    limit: int | None = None,
    include_deleted: bool = False,
    columns: list[str] | None = None,
    numbered: bool = True,
    tables: FieldTables | None = None,
    ordered: bool = True,
    offset: int = 0,
) -> tuple[str, dict[str, Any]]:
    """SQL selecting matching runs (``run_state`` columns plus ``_ord``, 1 up), in order.

    ``columns`` picks the ``run_state`` columns (default: all); fewer is cheaper, as the
    run's source text is among them. ``numbered=False`` leaves out ``_ord`` (a window over
    every matching run) for callers that number the rows as they read them. ``tables``
    (:func:`trackbook.fieldcache.for_burst`) joins kept per-field tables instead of grouping
    the logs (a field it has no table for is grouped here, and noted in its ``missing``);
    the SQL is then valid only in that burst. ``ordered=False`` leaves the order
    out altogether (to count the matches), ``offset`` skips that many runs before ``limit``.
    """
    c = compile_filter(where, Compiled(tables=tables))
    compile_order(order_by, c)
    conditions = [c.where]
    base = RUNS
    if not include_deleted:
        if columns and _light_enough(where, order_by, columns):
            base = LIGHT_RUNS
        else:
            conditions.append("NOT r.deleted")
    if experiment is not None:
        names = [experiment] if isinstance(experiment, str) else list(experiment)
        conditions.append(f"r.experiment IN (SELECT unnest({c.bind(names)}::VARCHAR[]))")
    picked = ", ".join(f"r.{col}" for col in columns) if columns else "r.*"
    numbered = numbered and ordered
    if numbered:
        picked += f", row_number() OVER (ORDER BY {c.order}) AS _ord"
    sql = (
        f"SELECT {picked} FROM {base} r "
        + " ".join(c.joins())
        + " WHERE " + " AND ".join(conditions)
    )
    if ordered:
        sql += " ORDER BY _ord" if numbered else f" ORDER BY {c.order}"
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ValueError(f"limit must be a non-negative integer, got {limit!r}")
        sql += f" LIMIT {c.bind(limit)}"
        if offset:
            sql += f" OFFSET {c.bind(int(offset))}"
    return sql, c.params


# Attributes a run's start row holds: a selection that needs no other attribute skips the
# run_state view, which groups every run's status, heartbeats, names and deletions (at 100k
# runs: 32 -> 19 ms to order a page, 73 -> 60 ms with a filter on a param and a metric).
LIGHT_COLUMNS = {"run_id", "experiment", "start_time", "parent_run_id", "host", "user_name"}
LIGHT_RUNS = (f"(SELECT {', '.join(sorted(LIGHT_COLUMNS))} FROM {CORE}.run_starts "
              f"WHERE run_id NOT IN (SELECT run_id FROM {CORE}.deleted_runs))")


def _light_enough(where: str | None, order_by: Any, columns: list[str]) -> bool:
    fields = filters.fields_of(filters.parse(where)) if where and str(where).strip() else []
    fields += [term.field for term in filters.parse_order(order_by)]
    attrs = {f.key for f in fields if f.kind == "attr"}
    return set(columns) <= LIGHT_COLUMNS and attrs <= LIGHT_COLUMNS


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
