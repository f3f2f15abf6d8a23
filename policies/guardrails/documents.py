"""IAM policy documents as the pack sees them (JSON strings, sometimes already objects), normalised into
statements with list-valued actions, resources, principals and conditions."""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ANYONE = "*"
ACCOUNT_ARN = re.compile(r"arn:aws[a-z-]*:(iam|sts)::([0-9]{12}):(.*)")
ACCOUNT_ID = re.compile(r"[0-9]{12}")


class DocumentError(ValueError):
    """The value is not a policy document."""


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] | None = None
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] | None = None
    principals: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Principal kind (`AWS`, `Service`, `Federated`, `CanonicalUser`, or `*` for `"Principal": "*"`) → values."""
    not_principal: bool = False
    conditions: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    sid: str = ""

    @property
    def allows(self) -> bool:
        return self.effect == "Allow"

    def grants(self, action: str) -> bool:
        """Whether the statement's action list covers `action` (wildcards as IAM reads them, case-insensitive)."""
        if self.not_actions is not None:
            return not any(action_matches(pattern, action) for pattern in self.not_actions)
        return any(action_matches(pattern, action) for pattern in self.actions)

    def principal_values(self, kind: str) -> tuple[str, ...]:
        return self.principals.get(kind, ())

    @property
    def is_anyone(self) -> bool:
        """`"Principal": "*"` or `{"AWS": "*"}`: every principal of every account."""
        return ANYONE in self.principals or ANYONE in self.principals.get("AWS", ())

    def condition_values(self, key: str) -> tuple[str, ...]:
        """Values the statement's conditions require of `key`, under any operator."""
        values: list[str] = []
        for operands in self.conditions.values():
            for condition_key, condition_values in operands.items():
                if condition_key.lower() == key.lower():
                    values.extend(condition_values)
        return tuple(values)


def action_matches(pattern: str, action: str) -> bool:
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def parse(document: Any) -> list[Statement]:
    """Statements of a policy document given as a JSON string or an object; raises DocumentError."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError as err:
            raise DocumentError(f"not valid JSON ({err.msg})") from None
    if not isinstance(document, Mapping):
        raise DocumentError("not a JSON object")
    statements = document.get("Statement")
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, Sequence) or isinstance(statements, str):
        raise DocumentError("has no Statement list")
    return [_statement(statement) for statement in statements]


def _statement(raw: Any) -> Statement:
    if not isinstance(raw, Mapping):
        raise DocumentError("has a statement that is not an object")
    principal_key = "NotPrincipal" if "NotPrincipal" in raw else "Principal"
    return Statement(
        effect=str(raw.get("Effect", "")),
        actions=strings(raw.get("Action")),
        not_actions=strings(raw["NotAction"]) if "NotAction" in raw else None,
        resources=strings(raw.get("Resource")),
        not_resources=strings(raw["NotResource"]) if "NotResource" in raw else None,
        principals=_principals(raw.get(principal_key)),
        not_principal=principal_key == "NotPrincipal",
        conditions=_conditions(raw.get("Condition")),
        sid=str(raw.get("Sid") or ""),
    )


def strings(value: Any) -> tuple[str, ...]:
    """A string or a list of strings, as a tuple (anything else is dropped)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Sequence):
        return tuple(str(item) for item in value if item is not None)
    return (str(value),)


def _principals(value: Any) -> Mapping[str, tuple[str, ...]]:
    if value is None:
        return {}
    if isinstance(value, str):
        return {ANYONE: (value,)} if value == ANYONE else {"AWS": (value,)}
    if isinstance(value, Mapping):
        return {str(kind): strings(values) for kind, values in value.items()}
    raise DocumentError("has a Principal that is neither a string nor an object")


def _conditions(value: Any) -> Mapping[str, Mapping[str, tuple[str, ...]]]:
    if not isinstance(value, Mapping):
        return {}
    return {str(operator): {str(key): strings(values) for key, values in operands.items()}
            for operator, operands in value.items() if isinstance(operands, Mapping)}


def account_of(principal: str) -> str | None:
    """The account an AWS principal (ARN or bare account id) belongs to."""
    if ACCOUNT_ID.fullmatch(principal):
        return principal
    match = ACCOUNT_ARN.fullmatch(principal)
    return match.group(2) if match else None


def is_account_root(principal: str) -> bool:
    """A bare account id or `arn:aws:iam::<id>:root`: every principal the account's IAM lets through."""
    if ACCOUNT_ID.fullmatch(principal):
        return True
    match = ACCOUNT_ARN.fullmatch(principal)
    return bool(match and match.group(1) == "iam" and match.group(3) == "root")


def role_name_of(principal: str) -> str | None:
    """The name of an IAM role ARN (path stripped), None for any other principal."""
    match = ACCOUNT_ARN.fullmatch(principal)
    if not match or match.group(1) != "iam" or not match.group(3).startswith("role/"):
        return None
    return match.group(3).rsplit("/", 1)[-1]


def allowed_statements(statements: Iterable[Statement]) -> list[Statement]:
    return [statement for statement in statements if statement.allows]
