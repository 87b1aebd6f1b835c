"""Reading a notebook cell without running it: its literal params, and overriding them.

Top-level assignments of one name to a value ``ast.literal_eval`` accepts (``lr = -1e-3``,
``layers = [64, 32]``, ``cfg = {'lr': 1e-3}``, annotated ones too) are the cell's params; the
last assignment wins and names starting with ``_`` are skipped. Nothing is executed to find
them. An override (``-p lr=0.1``, a sweep value) rewrites the assignment in the source, so the
code recorded is the code that ran.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from trackbook import values


@dataclass(frozen=True)
class Assignment:
    name: str
    value: Any
    line: int  # 1-based, of the value's first character
    col: int  # 0-based character offset on that line
    end_line: int
    end_col: int


def parse(source: str) -> ast.Module | None:
    """The cell's syntax tree, or None when it is not plain Python (IPython syntax...)."""
    try:
        return ast.parse(source)
    except SyntaxError:
        return None


def literal_assignments(source: str) -> list[Assignment]:
    """Every top-level ``name = <literal>`` (or ``name: T = <literal>``), in order."""
    tree = parse(source)
    if tree is None:
        return []
    found = []
    for node in tree.body:
        target, value = _target_and_value(node)
        if target is None or value is None or target.startswith("_"):
            continue
        try:
            literal = ast.literal_eval(value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            continue
        found.append(Assignment(target, literal, value.lineno, value.col_offset,
                                value.end_lineno or value.lineno,
                                value.end_col_offset or value.col_offset))
    return found


def _target_and_value(node: ast.stmt) -> tuple[str | None, ast.expr | None]:
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        return (target.id if isinstance(target, ast.Name) else None), node.value
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id, node.value
    return None, None


def params(source: str) -> dict[str, Any]:
    """The cell's literal params, flattened (``cfg = {'lr': 1}`` -> ``cfg.lr``)."""
    latest: dict[str, Any] = {}
    for assignment in literal_assignments(source):
        latest[assignment.name] = assignment.value
    return values.flatten(latest)


def override(source: str, new: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Rewrite the cell's literal assignments of the names in ``new``.

    Returns the new source and the overrides that had no assignment to rewrite: those must be
    set in the namespace before the cell runs.
    """
    lines = source.splitlines(keepends=True)
    edits = [a for a in literal_assignments(source) if a.name in new]
    # Edit from the end so earlier positions stay valid.
    for a in sorted(edits, key=lambda a: (a.line, a.col), reverse=True):
        text = repr(new[a.name])
        first, last = lines[a.line - 1], lines[a.end_line - 1]
        start = _char_index(first, a.col)
        end = _char_index(last, a.end_col)
        lines[a.line - 1 : a.end_line] = [first[:start] + text + last[end:]]
    rewritten = {a.name for a in edits}
    return "".join(lines), {k: v for k, v in new.items() if k not in rewritten}


def _char_index(line: str, utf8_offset: int) -> int:
    """ast gives UTF-8 byte offsets; strings index by character."""
    return len(line.encode("utf-8")[:utf8_offset].decode("utf-8", errors="ignore"))


def parse_value(text: str) -> Any:
    """A ``-p`` value: a Python literal when it is one (``1e-3``, ``[64, 32]``), else text."""
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def split_last_expression(tree: ast.Module) -> tuple[ast.Module, ast.Expression | None]:
    """The cell without its last statement when that is an expression, and the expression.

    The magic evaluates the expression separately so that its value is displayed as the cell's
    result (and, when it is a dict of numbers, logged as final metrics), as without the magic.
    """
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = tree.body[-1]
        body = ast.Module(body=tree.body[:-1], type_ignores=[])
        return body, ast.Expression(body=last.value)
    return tree, None


def numeric_dict(value: Any) -> dict[str, float] | None:
    """``value`` as metrics when it is a non-empty dict of real numbers keyed by strings."""
    if not isinstance(value, dict) or not value:
        return None
    result = {}
    for key, item in value.items():
        if not isinstance(key, str):
            return None
        try:
            result[key] = values.as_metric(key, item)
        except (TypeError, ValueError):
            return None
    return result
