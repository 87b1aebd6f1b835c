"""How user values become stored values: params (typed, flattened), tags and metric numbers."""

from __future__ import annotations

import itertools
import json
import math
import numbers
import re
from collections.abc import Iterable, Mapping
from typing import Any

# (value text, number, type name) is how one param is stored: the text always, the number when
# the value is numeric so that filters compare numbers as numbers.
StoredParam = tuple[str | None, float | None, str]

# Words that mark a key as a secret; matched against whole words of the key, so `hf_token` and
# `apiKey` are redacted but `max_tokens` and `tokenizer` are not.
SECRET_WORDS = {"token", "password", "passwd", "pwd", "secret", "apikey", "credential",
                "credentials", "passphrase"}
SECRET_PAIRS = {("api", "key"), ("access", "key"), ("private", "key"), ("secret", "key")}
REDACTED = "***redacted***"
_allowed_secret_keys: set[str] = set()


def flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts become dotted keys: ``{"optimizer": {"lr": 1}}`` -> ``{"optimizer.lr": 1}``."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        if not isinstance(key, str):
            key = str(key)
        if not key:
            raise ValueError("a param key is empty: give every param a name")
        full = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, full + "."))
        else:
            flat[full] = value
    return flat


def store_param(value: Any) -> StoredParam:
    """Keep int, float, bool, str and None as such; anything else becomes JSON text."""
    if value is None:
        return None, None, "none"
    if isinstance(value, bool):
        return str(value), float(value), "bool"
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0 and hasattr(value, "dtype"):
        value = value.item()  # numpy / torch scalars
        if isinstance(value, bool):
            return str(value), float(value), "bool"
    if isinstance(value, numbers.Integral):
        return str(int(value)), float(value), "int"
    if isinstance(value, numbers.Real):
        number = float(value)
        return repr(number), number, "float"
    if isinstance(value, str):
        return value, None, "str"
    return json.dumps(value, default=str, ensure_ascii=False), None, "json"


def load_param(text: str | None, kind: str) -> Any:
    """The inverse of :func:`store_param`: the value with its stored type."""
    if kind == "none" or text is None:
        return None
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    if kind == "bool":
        return text == "True"
    if kind == "json":
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _words(key: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", key)
    return [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w]


def looks_secret(key: str) -> bool:
    """Whether a key names a secret (``api_key``, ``HF_TOKEN``, ``db.password``...)."""
    words = _words(key)
    return any(w in SECRET_WORDS for w in words) or any(
        pair in SECRET_PAIRS for pair in itertools.pairwise(words)
    )


def allow_secret_keys(*keys: str) -> None:
    """Opt in: store these keys' values even though their names look like secrets."""
    _allowed_secret_keys.update(keys)


def redact(params: Mapping[str, Any]) -> dict[str, Any]:
    """Replace values of keys that look like secrets, unless the user opted in for the key."""
    return {
        k: (REDACTED if v is not None and k not in _allowed_secret_keys and looks_secret(k)
            else v)
        for k, v in params.items()
    }


def as_metric(key: str, value: Any) -> float:
    """A metric value as a float; raise naming the key when it is not a real number."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, numbers.Real):
        return float(value)
    item = getattr(value, "item", None)
    if item is not None and getattr(value, "size", 1) == 1:
        try:
            return as_metric(key, item())
        except (TypeError, ValueError):
            pass
    if isinstance(value, str):
        raise TypeError(
            f"metric {key!r}: got the string {value!r}; log numbers (use run.tag or "
            f"log_params for text)"
        )
    raise TypeError(f"metric {key!r}: expected a real number, got {type(value).__name__}")


def as_step(step: Any) -> int:
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        item = getattr(step, "item", None)
        if item is not None:
            return as_step(item())
        raise TypeError(f"step must be an integer, got {step!r}")
    return int(step)


def parse_tags(tags: Any = None, **pairs: Any) -> dict[str, str]:
    """Tags from a dict, a label, or a list mixing labels and ``'key=value'``."""
    result: dict[str, str] = {}
    if tags is None:
        items: Iterable[Any] = []
    elif isinstance(tags, Mapping):
        items = [(k, v) for k, v in tags.items()]
    elif isinstance(tags, str):
        items = [tags]
    else:
        items = list(tags)
    for item in [*items, *pairs.items()]:
        if isinstance(item, tuple):
            key, value = item
            value = "" if value is None else str(value)
        else:
            key, sep, value = str(item).partition("=")
            if not sep:
                value = ""
        key = str(key).strip()
        if not key:
            raise ValueError(f"tag {item!r} has no name")
        result[key] = value
    return result


def is_finite_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
