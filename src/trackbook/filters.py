"""The filter language: parsed into a tree, never pasted into SQL.

A superset of MLflow's ``search_runs`` syntax: ``params.lr > 1e-4 and metrics.val_loss < 0.5``,
``tags.owner = 'ana'``, ``status = 'finished'``, ``name LIKE 'lr=%'``, ``params.model IN ('cnn',
'mlp')``, ``params.dropout IS NULL``, with ``or``, ``not`` and parentheses. This module only
parses; :mod:`trackbook.queries` compiles the tree to SQL with bound parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from trackbook.errors import FilterError

PREFIXES = {
    "metric": "metric", "metrics": "metric",
    "param": "param", "params": "param", "parameter": "param", "parameters": "param",
    "tag": "tag", "tags": "tag",
    "attribute": "attr", "attributes": "attr", "attr": "attr", "run": "attr",
    "dataset": "dataset", "datasets": "dataset",
}
ATTRIBUTES = {
    "run_id": "run_id", "id": "run_id", "name": "name", "run_name": "name",
    "experiment": "experiment", "status": "status", "start_time": "start_time",
    "created": "start_time", "end_time": "end_time", "duration_s": "duration_s",
    "duration": "duration_s", "parent_run_id": "parent_run_id", "host": "host",
    "user": "user_name", "user_name": "user_name",
}
METRIC_FIELDS = ("last", "min", "max")
DATASET_FIELDS = {"name": "name", "digest": "sha256", "sha256": "sha256", "kind": "kind"}
KEYWORDS = {"and", "or", "not", "in", "is", "null", "like", "ilike", "rlike", "true", "false"}
COMPARISONS = ("==", "!=", "<>", "<=", ">=", "=", "<", ">")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:inf|nan)\b", re.I)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Unquoted keys may hold '/', '-', ':' and '.' (``metrics.val/loss``): no operator uses them.
_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./:\-]*")


@dataclass(frozen=True)
class Field:
    kind: str  # attr, param, metric, tag, dataset
    key: str
    agg: str = ""  # metric: last/min/max; dataset: name/sha256/kind
    position: int = 0

    @property
    def label(self) -> str:
        """The column name ``tb.runs()`` uses for this field."""
        if self.kind == "attr":
            return self.key
        prefix = {"param": "params", "metric": "metrics", "tag": "tags", "dataset": "datasets"}
        suffix = f".{self.agg}" if self.kind == "metric" and self.agg != "last" else ""
        if self.kind == "dataset":
            suffix = f".{self.agg}"
            return f"datasets{suffix}"
        return f"{prefix[self.kind]}.{self.key}{suffix}"


@dataclass(frozen=True)
class Literal:
    value: str | float | bool | None
    text: str  # as written (for tags compared with a number: '2' stays '2')
    quoted: bool
    position: int


@dataclass(frozen=True)
class Compare:
    field: Field
    op: str  # = != < <= > >= like ilike rlike
    value: Literal
    negated: bool = False  # NOT LIKE


@dataclass(frozen=True)
class In:
    field: Field
    values: tuple[Literal, ...]
    negated: bool = False


@dataclass(frozen=True)
class IsNull:
    field: Field
    negated: bool = False


@dataclass(frozen=True)
class BoolOp:
    op: str  # and / or
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Compare | In | IsNull | BoolOp | Not


@dataclass
class OrderTerm:
    field: Field
    descending: bool = False


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    # -- scanning helpers -------------------------------------------------------------------

    def fail(self, message: str, position: int | None = None) -> FilterError:
        return FilterError(message, self.text, self.pos if position is None else position)

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def at_end(self) -> bool:
        self.skip_space()
        return self.pos >= len(self.text)

    def peek_word(self) -> str:
        self.skip_space()
        match = _WORD.match(self.text, self.pos)
        return match.group().lower() if match else ""

    def take_word(self, word: str) -> bool:
        """Consume keyword ``word`` (case-insensitive) if it comes next."""
        if self.peek_word() == word:
            self.pos += len(word)
            return True
        return False

    def take(self, symbol: str) -> bool:
        self.skip_space()
        if self.text.startswith(symbol, self.pos):
            self.pos += len(symbol)
            return True
        return False

    def expect(self, symbol: str, what: str) -> None:
        if not self.take(symbol):
            raise self.fail(f"expected {what}")

    # -- grammar ------------------------------------------------------------------------------

    def parse(self) -> Node:
        if self.at_end():
            raise self.fail("the filter is empty")
        node = self.parse_or()
        if not self.at_end():
            raise self.fail(f"unexpected {self._next_text()!r}; join conditions with AND or OR")
        return node

    def _next_text(self) -> str:
        return self.text[self.pos :].split()[0] if self.text[self.pos :].split() else ""

    def parse_or(self) -> Node:
        items = [self.parse_and()]
        while self.take_word("or"):
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def parse_and(self) -> Node:
        items = [self.parse_not()]
        while self.take_word("and"):
            items.append(self.parse_not())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def parse_not(self) -> Node:
        if self.take_word("not"):
            return Not(self.parse_not())
        if self.take("("):
            node = self.parse_or()
            self.expect(")", "')' to close the parenthesis")
            return node
        return self.parse_predicate()

    def parse_predicate(self) -> Node:
        target = self.parse_field()
        start = self.pos
        if self.take_word("is"):
            negated = self.take_word("not")
            if not self.take_word("null"):
                raise self.fail("expected NULL after IS")
            return IsNull(target, negated)
        negated = self.take_word("not")
        if self.take_word("in"):
            return In(target, self.parse_list(), negated)
        for word in ("like", "ilike", "rlike"):
            if self.take_word(word):
                value = self.parse_literal()
                if not isinstance(value.value, str) or not value.quoted:
                    raise self.fail(f"{word.upper()} takes a quoted pattern", value.position)
                return Compare(target, word, value, negated)
        if negated:
            raise self.fail("expected IN, LIKE or ILIKE after NOT", start)
        self.skip_space()
        for op in COMPARISONS:
            if self.take(op):
                op = {"==": "=", "<>": "!="}.get(op, op)
                return Compare(target, op, self.parse_literal())
        raise self.fail(
            f"expected a comparison (=, !=, <, <=, >, >=, IN, LIKE, IS NULL) after "
            f"{target.label!r}"
        )

    def parse_list(self) -> tuple[Literal, ...]:
        self.expect("(", "'(' to start the IN list")
        items = [self.parse_literal()]
        while self.take(","):
            items.append(self.parse_literal())
        self.expect(")", "')' to close the IN list")
        return tuple(items)

    def parse_literal(self) -> Literal:
        self.skip_space()
        start = self.pos
        if self.pos >= len(self.text):
            raise self.fail("expected a value")
        char = self.text[self.pos]
        if char in "'\"":
            text = self.parse_quoted(char)
            return Literal(text, text, True, start)
        match = _NUMBER.match(self.text, self.pos)
        if match and not _WORD.match(self.text, match.end()):
            self.pos = match.end()
            return Literal(float(match.group()), match.group(), False, start)
        word = self.peek_word()
        if word in ("true", "false"):
            self.pos += len(word)
            return Literal(word == "true", word, False, start)
        if word == "null":
            raise self.fail("compare with NULL using IS NULL or IS NOT NULL")
        shown = self._next_text() or char
        raise self.fail(f"expected a number or a quoted string, got {shown!r}")

    def parse_quoted(self, quote: str) -> str:
        """A quoted string or key; the quote is escaped by doubling it or with a backslash."""
        start = self.pos
        self.pos += 1
        out = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if char == quote:
                if self.text.startswith(quote * 2, self.pos):
                    out.append(quote)
                    self.pos += 2
                    continue
                self.pos += 1
                return "".join(out)
            out.append(char)
            self.pos += 1
        raise self.fail(f"unterminated {quote}...{quote}", start)

    # -- fields ---------------------------------------------------------------------------------

    def parse_field(self) -> Field:
        self.skip_space()
        start = self.pos
        if self.pos < len(self.text) and self.text[self.pos] in "`\"":
            raise self.fail("a quoted key needs a prefix, e.g. metrics.`val/loss`")
        word_match = _WORD.match(self.text, self.pos)
        if not word_match:
            shown = self._next_text() or "the end"
            raise self.fail(f"expected a field such as metrics.loss or status, got {shown!r}")
        word = word_match.group()
        self.pos = word_match.end()
        if self.pos < len(self.text) and self.text[self.pos] == "." and word.lower() in PREFIXES:
            self.pos += 1
            return self.parse_prefixed(PREFIXES[word.lower()], word, start)
        return self.attribute(word, start)

    def attribute(self, word: str, start: int) -> Field:
        name = ATTRIBUTES.get(word.lower())
        if name is None:
            if word.lower() in KEYWORDS:
                raise self.fail(f"expected a field before {word.upper()}", start)
            known = ", ".join(sorted(set(ATTRIBUTES.values())))
            raise self.fail(
                f"unknown field {word!r}: use params.{word}, metrics.{word} or tags.{word}, "
                f"or one of the attributes {known}",
                start,
            )
        return Field("attr", name, position=start)

    def parse_prefixed(self, kind: str, prefix: str, start: int) -> Field:
        key, quoted = self.parse_key()
        if not key:
            raise self.fail(f"expected a key after {prefix}.")
        if kind == "attr":
            return self.attribute(key, start)
        if kind == "dataset":
            agg = DATASET_FIELDS.get(key.lower())
            if agg is None:
                raise self.fail(f"datasets take .name, .digest or .kind, not .{key}", start)
            return Field("dataset", "", agg, start)
        agg = "last" if kind == "metric" else ""
        if kind == "metric":
            if quoted:
                if self.text.startswith(".", self.pos):
                    self.pos += 1
                    agg, _ = self.parse_key()
                    agg = agg.lower()
                    if agg not in METRIC_FIELDS:
                        raise self.fail(f"metric summaries are .last, .min and .max, not .{agg}")
            else:
                head, dot, tail = key.rpartition(".")
                if dot and tail.lower() in METRIC_FIELDS:
                    key, agg = head, tail.lower()
        return Field(kind, key, agg, start)

    def parse_key(self) -> tuple[str, bool]:
        if self.pos < len(self.text) and self.text[self.pos] in "`\"":
            return self.parse_quoted(self.text[self.pos]), True
        match = _KEY.match(self.text, self.pos)
        if not match:
            return "", False
        self.pos = match.end()
        return match.group().rstrip("."), False


def column_name(kind: str, key: str, agg: str = "last") -> str:
    """How the filter language writes a field: ``params.lr``, ``metrics.loss.min``, and
    ``metrics.`val.min``` or ``params.`my key``` where the key needs quoting."""
    prefix = {"param": "params", "metric": "metrics", "tag": "tags"}[kind]
    plain = _KEY.fullmatch(key) is not None and not key.endswith(".")
    if kind == "metric" and key.rpartition(".")[2].lower() in METRIC_FIELDS and "." in key:
        plain = False  # `a.min` would read as the min of `a`
    text = key if plain else "`" + key.replace("\\", "\\\\").replace("`", "``") + "`"
    return f"{prefix}.{text}.{agg}" if kind == "metric" and agg != "last" else f"{prefix}.{text}"


def parse(text: str) -> Node:
    """Parse a filter; raise :class:`FilterError` showing the position of what is wrong."""
    if not isinstance(text, str):
        raise FilterError(f"a filter is a string, got {type(text).__name__}")
    return _Parser(text).parse()


def parse_field(text: str) -> Field:
    """One field as written in ``order_by`` or a column list (``metrics.loss.min``)."""
    parser = _Parser(text)
    result = parser.parse_field()
    if not parser.at_end():
        raise parser.fail(f"unexpected {parser._next_text()!r} after {result.label!r}")
    return result


def parse_order(order_by: str | list[str] | tuple[str, ...] | None) -> list[OrderTerm]:
    """``"metrics.val_loss"``, ``"start_time DESC"`` or a list of them."""
    if order_by is None:
        return []
    items = [order_by] if isinstance(order_by, str) else list(order_by)
    terms = []
    for item in items:
        parser = _Parser(item)
        target = parser.parse_field()
        descending = False
        if parser.take_word("desc"):
            descending = True
        else:
            parser.take_word("asc")
        if not parser.at_end():
            raise parser.fail("expected ASC or DESC after the order field")
        terms.append(OrderTerm(target, descending))
    return terms


def fields_of(node: Node) -> list[Field]:
    """Every field a filter reads, in order of appearance (duplicates kept once)."""
    found: list[Field] = []

    def visit(n: Node) -> None:
        if isinstance(n, BoolOp):
            for item in n.items:
                visit(item)
        elif isinstance(n, Not):
            visit(n.item)
        else:
            key = (n.field.kind, n.field.key, n.field.agg)
            if all((f.kind, f.key, f.agg) != key for f in found):
                found.append(n.field)

    visit(node)
    return found
