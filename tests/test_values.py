from __future__ import annotations

import math

import numpy as np
import pytest

from trackbook import values


def test_flatten_nested_dicts_to_dotted_keys() -> None:
    flat = values.flatten({"optimizer": {"lr": 1e-3, "betas": {"b1": 0.9}}, "seed": 1})
    assert flat == {"optimizer.lr": 1e-3, "optimizer.betas.b1": 0.9, "seed": 1}


def test_flatten_rejects_empty_key() -> None:
    with pytest.raises(ValueError, match="empty"):
        values.flatten({"": 1})


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (3, ("3", 3.0, "int")),
        (1e-3, ("0.001", 1e-3, "float")),
        (True, ("True", 1.0, "bool")),
        ("cnn", ("cnn", None, "str")),
        (None, (None, None, "none")),
        ([64, 32], ("[64, 32]", None, "json")),
        (np.int64(5), ("5", 5.0, "int")),
        (np.float32(0.5), ("0.5", 0.5, "float")),
        (np.bool_(False), ("False", 0.0, "bool")),
    ],
)
def test_params_keep_their_type(value: object, stored: tuple) -> None:
    assert values.store_param(value) == stored
    text, _, kind = stored
    loaded = values.load_param(text, kind)
    expected = value.item() if hasattr(value, "item") else value
    assert loaded == expected and type(loaded) is type(expected)


def test_nan_param_round_trips() -> None:
    text, _, kind = values.store_param(float("nan"))
    assert kind == "float" and math.isnan(values.load_param(text, kind))


@pytest.mark.parametrize("key", ["api_key", "HF_TOKEN", "db.password", "apiKey", "aws_secret",
                                 "access_key_id", "credentials"])
def test_secret_looking_keys_are_redacted(key: str) -> None:
    assert values.redact({key: "s3cr3t"})[key] == values.REDACTED


@pytest.mark.parametrize("key", ["max_tokens", "tokenizer", "n_tokens", "learning_rate", "keys"])
def test_ordinary_keys_are_kept(key: str) -> None:
    assert values.redact({key: 5})[key] == 5


def test_opt_in_keeps_a_secret_looking_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(values, "_allowed_secret_keys", set())
    values.allow_secret_keys("token_budget")
    assert values.redact({"token_budget": 100, "token": "x"}) == {
        "token_budget": 100, "token": values.REDACTED}


@pytest.mark.parametrize("value", [0.5, 3, True, np.float64(0.1), np.array(2.0)])
def test_metric_numbers_are_accepted(value: object) -> None:
    assert isinstance(values.as_metric("loss", value), float)


@pytest.mark.parametrize("value", ["0.3", None, [1.0], 1 + 2j, object()])
def test_metric_non_numbers_raise_naming_the_key(value: object) -> None:
    with pytest.raises(TypeError, match="'val_loss'"):
        values.as_metric("val_loss", value)


def test_tags_from_dict_labels_and_pairs() -> None:
    assert values.parse_tags(["baseline", "owner=ana"]) == {"baseline": "", "owner": "ana"}
    assert values.parse_tags({"team": "vision"}, stage="dev") == {"team": "vision",
                                                                  "stage": "dev"}
    assert values.parse_tags("a=b=c") == {"a": "b=c"}
    with pytest.raises(ValueError, match="no name"):
        values.parse_tags(["=x"])
