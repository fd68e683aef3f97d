"""`KEY=VALUE` overrides from the command line, values read as YAML (`k=5`, `seeds=[1,2]`)."""
from __future__ import annotations

from typing import Any

import yaml

from mmrest.errors import InputError


def parse_assignments(items: list[str] | None, *, flag: str = "--set") -> dict[str, Any]:
    """{'train.max_epochs': 2, ...} from ['train.max_epochs=2', ...]; keys may be dotted paths."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"{flag} {item!r}: expected KEY=VALUE, for example {flag} k=5")
        try:
            out[key.strip()] = yaml.safe_load(raw)
        except yaml.YAMLError as err:
            raise InputError(f"{flag} {item!r}: the value is not valid YAML ({err.problem})") from None
    return out

