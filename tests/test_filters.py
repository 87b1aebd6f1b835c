from __future__ import annotations

import pytest

from trackbook import filters
from trackbook.errors import FilterError
from trackbook.filters import BoolOp, Compare, Field, In, IsNull, Not


def test_mlflow_syntax_parses() -> None:
    node = filters.parse("params.lr > 1e-4 and metrics.val_loss < 0.5")
    assert isinstance(node, BoolOp) and node.op == "and"
    left, right = node.items
    assert isinstance(left, Compare) and left.field == Field("param", "lr", "", 0)
    assert left.op == ">" and left.value.value == 1e-4
    assert right.field.kind == "metric" and right.field.key == "val_loss"
    assert right.field.agg == "last"


@pytest.mark.parametrize(
    ("text", "kind", "key", "agg"),
    [
        ("metric.acc > 1", "metric", "acc", "last"),
        ("metrics.val_loss.min < 1", "metric", "val_loss", "min"),
        ("metrics.val_loss.MAX < 1", "metric", "val_loss", "max"),
        ("metrics.`val/loss` < 1", "metric", "val/loss", "last"),
        ('metrics."val/loss".min < 1', "metric", "val/loss", "min"),
        ("metrics.`loss.min` < 1", "metric", "loss.min", "last"),
        ("metrics.val/loss < 1", "metric", "val/loss", "last"),
        ("parameters.optimizer.lr = 1", "param", "optimizer.lr", ""),
        ("param.lr = 1", "param", "lr", ""),
        ("tag.owner = 'x'", "tag", "owner", ""),
        ("attributes.run_name = 'x'", "attr", "name", ""),
        ("attr.status = 'finished'", "attr", "status", ""),
        ("run.created > 0", "attr", "start_time", ""),
        ("created > 0", "attr", "start_time", ""),
        ("datasets.name = 'train'", "dataset", "", "name"),
        ("dataset.digest = 'ab'", "dataset", "", "sha256"),
    ],
)
def test_prefixes_and_keys(text: str, kind: str, key: str, agg: str) -> None:
    node = filters.parse(text)
    assert isinstance(node, Compare)
    assert (node.field.kind, node.field.key, node.field.agg) == (kind, key, agg)


def test_or_not_parentheses_and_precedence() -> None:
    node = filters.parse("not (params.a = 1 or params.b = 2) and params.c = 3")
    assert isinstance(node, BoolOp) and node.op == "and"
    assert isinstance(node.items[0], Not)
    assert isinstance(node.items[0].item, BoolOp) and node.items[0].item.op == "or"


def test_keywords_are_case_insensitive() -> None:
    node = filters.parse("params.m IN ('a', \"b\") AND params.d Is Not Null Or name like 'x%'")
    assert isinstance(node, BoolOp) and node.op == "or"
    first = node.items[0]
    assert isinstance(first, BoolOp)
    in_node, null_node = first.items
    assert isinstance(in_node, In) and [v.value for v in in_node.values] == ["a", "b"]
    assert isinstance(null_node, IsNull) and null_node.negated


def test_not_in_and_not_like() -> None:
    node = filters.parse("params.m NOT IN ('a') and name NOT ILIKE 'X%'")
    assert isinstance(node, BoolOp)
    assert node.items[0].negated and node.items[1].negated


def test_strings_escape_quotes() -> None:
    node = filters.parse("tags.note = 'it''s' or tags.note = 'it\\'s'")
    assert [item.value.value for item in node.items] == ["it's", "it's"]


def test_operator_spellings() -> None:
    assert filters.parse("params.a == 1").op == "="
    assert filters.parse("params.a <> 1").op == "!="


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("metrics.loss < ", "expected a value", 15),
        ("metrics.loss 0.3", "expected a comparison", 13),
        ("params.lr > 1 and", "expected a field", 17),
        ("(params.lr > 1", "to close the parenthesis", 14),
        ("foo = 1", "unknown field 'foo'", 0),
        ("params.lr > 1 params.b = 2", "unexpected 'params.b'", 14),
        ("tags.x = 'open", "unterminated", 9),
        ("metrics.loss.median < 1", None, None),
        ("params.x = NULL", "IS NULL", 11),
        ("name LIKE 3", "quoted pattern", 10),
        ("", "empty", None),
        ("metrics.`a`.avg < 1", "metric summaries", None),
        ("datasets.size = 1", "datasets take", 0),
    ],
)
def test_errors_show_the_position(text: str, message: str | None, position: int | None) -> None:
    if message is None:  # an unknown suffix is part of the key, which is fine
        assert filters.parse(text).field.key == "loss.median"
        return
    with pytest.raises(FilterError, match=message) as info:
        filters.parse(text)
    if position is not None:
        assert info.value.position == position
        assert f"at position {position}" in str(info.value)
        assert "^" in str(info.value)


def test_order_terms() -> None:
    terms = filters.parse_order(["metrics.loss.min", "start_time DESC"])
    assert [(t.field.label, t.descending) for t in terms] == [("metrics.loss.min", False),
                                                             ("start_time", True)]
    with pytest.raises(FilterError):
        filters.parse_order("metrics.loss sideways")


def test_fields_of_lists_each_field_once() -> None:
    node = filters.parse("params.a = 1 or (params.a = 2 and metrics.b.min < 1)")
    assert [f.label for f in filters.fields_of(node)] == ["params.a", "metrics.b.min"]
