"""Sweep specs: ``"lr=[1e-4, 1e-3] seed=range(3)"`` (or ``;``-separated) to combinations."""

from __future__ import annotations

import ast
import itertools
from typing import Any

MAX_COMBINATIONS = 10_000


class SweepSpecError(ValueError):
    """A sweep spec that cannot be read; the message says which part and why."""


def _split(spec: str) -> list[str]:
    """Split at spaces or ';' outside brackets and quotes."""
    parts: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for char in spec:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and (char.isspace() or char == ";"):
            if current:
                parts.append("".join(current))
                current = []
            continue
        current.append(char)
    if quote or depth:
        raise SweepSpecError(f"unbalanced brackets or quotes in sweep spec {spec!r}")
    if current:
        parts.append("".join(current))
    return _join_around_equals(parts)


def _join_around_equals(parts: list[str]) -> list[str]:
    """Allow ``lr = [1, 2]``: glue a lone '=' or a part ending/starting with '=' to its peer."""
    joined: list[str] = []
    for part in parts:
        if joined and (joined[-1].endswith("=") or part.startswith("=")):
            joined[-1] += part
        else:
            joined.append(part)
    return joined


def _values(name: str, text: str) -> list[Any]:
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        raise SweepSpecError(f"{name}={text}: not a Python literal or range(...)") from None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range":
        try:
            args = [ast.literal_eval(a) for a in node.args]
            if node.keywords or not all(isinstance(a, int) for a in args):
                raise ValueError
            return list(range(*args))
        except (ValueError, TypeError):
            raise SweepSpecError(f"{name}={text}: range() takes 1 to 3 integers") from None
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError):
        raise SweepSpecError(
            f"{name}={text}: give a list of literals like [1e-4, 1e-3] or range(3)"
        ) from None
    values = list(value) if isinstance(value, (list, tuple, set)) else [value]
    if not values:
        raise SweepSpecError(f"{name}={text}: no values to sweep over")
    return values


def parse(spec: str) -> dict[str, list[Any]]:
    """``"lr=[1e-4,1e-3] seed=range(3)"`` -> ``{"lr": [1e-4, 1e-3], "seed": [0, 1, 2]}``."""
    if not spec or not spec.strip():
        raise SweepSpecError(
            "the sweep spec is empty; e.g. --sweep \"lr=[1e-4,1e-3] seed=range(3)\"")
    grid: dict[str, list[Any]] = {}
    for part in _split(spec):
        name, sep, text = part.partition("=")
        name = name.strip()
        if not sep or not text.strip():
            raise SweepSpecError(f"{part!r}: write name=values, e.g. lr=[1e-4,1e-3]")
        if not name.isidentifier():
            raise SweepSpecError(f"{name!r} is not a variable name")
        if name in grid:
            raise SweepSpecError(f"{name} appears twice in the sweep spec")
        grid[name] = _values(name, text.strip())
    total = 1
    for values in grid.values():
        total *= len(values)
    if total > MAX_COMBINATIONS:
        raise SweepSpecError(f"the sweep has {total:,} combinations (more than "
                             f"{MAX_COMBINATIONS:,}); narrow it")
    return grid


def combinations(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination, the last name varying fastest."""
    names = list(grid)
    return [dict(zip(names, combo, strict=True))
            for combo in itertools.product(*(grid[n] for n in names))]


def label(combo: dict[str, Any]) -> str:
    """A child run's name: ``lr=0.0001 seed=0``."""
    return " ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v:g}"
                    if isinstance(v, float) else f"{k}={v}" for k, v in combo.items())
