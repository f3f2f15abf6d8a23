"""IAM policy documents, typed: the program builds them, the separation proof reads them back from the captured
stacks, and the policy pack judges them — all through this one `Statement`.

Building, values may be Pulumi Inputs (an ARN not known before the resource exists); `render` gives the JSON form
IAM stores (`Output.json_dumps` resolves the Inputs). Reading, `parse` normalises what IAM accepts — a string or a
list for every value, one statement or a list — into tuples of strings. Actions are matched as IAM matches them:
case-insensitive, `*` and `?` wildcards on either side (`sts:Assume*` grants `sts:AssumeRole`).

No Pulumi import here: the policy pack's process loads this module too.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlops_platform import naming

VERSION = "2012-10-17"
ANYONE = "*"
ALLOW = "Allow"
DENY = "Deny"

Conditions = Mapping[str, Mapping[str, Any]]
"""Operator → condition key → value (a string, a list of them, or a Pulumi Input while building)."""


class DocumentError(ValueError):
    """The value is not a policy document."""


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] | None = None
    resources: tuple[Any, ...] = ()
    """ARNs (or Inputs of them, while building); empty for a trust or key-less statement."""
    not_resources: tuple[Any, ...] | None = None
    principals: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    """Principal kind (`AWS`, `Service`, `Federated`, `CanonicalUser`, or `*` for `"Principal": "*"`) → values."""
    not_principal: bool = False
    conditions: Mapping[str, Mapping[str, tuple[Any, ...]]] = field(default_factory=dict)
    sid: str = ""
    single_values: frozenset[str] = frozenset()
    """The fields (`Action`, `Resource`, ...) written as one plain string rather than a list, kept so that a
    rendered document reads as it was written; IAM treats both forms alike."""

    @property
    def allows(self) -> bool:
        return self.effect == ALLOW

    def grants(self, action: str) -> bool:
        """Whether the statement's action list covers `action` (wildcards as IAM reads them, case-insensitive)."""
        if self.not_actions is not None:
            return not any(action_matches(pattern, action) for pattern in self.not_actions)
        return any(action_matches(pattern, action) for pattern in self.actions)

    def grants_any(self, actions: Iterable[str]) -> bool:
        return any(self.grants(action) for action in actions)

    def principal_values(self, kind: str) -> tuple[str, ...]:
        return tuple(str(value) for value in self.principals.get(kind, ()))

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
                    values.extend(str(value) for value in condition_values)
        return tuple(values)

    def render(self) -> dict[str, Any]:
        """The statement in IAM's JSON form (values may still be Inputs)."""
        rendered: dict[str, Any] = {}
        if self.sid:
            rendered["Sid"] = self.sid
        rendered["Effect"] = self.effect
        if self.principals:
            key = "NotPrincipal" if self.not_principal else "Principal"
            if ANYONE in self.principals:
                rendered[key] = ANYONE
            else:
                rendered[key] = {kind: self._value(f"{key}.{kind}", values)
                                 for kind, values in self.principals.items()}
        if self.not_actions is not None:
            rendered["NotAction"] = self._value("NotAction", self.not_actions)
        elif self.actions:
            rendered["Action"] = self._value("Action", self.actions)
        if self.not_resources is not None:
            rendered["NotResource"] = self._value("NotResource", self.not_resources)
        elif self.resources:
            rendered["Resource"] = self._value("Resource", self.resources)
        if self.conditions:
            rendered["Condition"] = {operator: {key: self._value(f"Condition.{operator}.{key}", values)
                                                for key, values in operands.items()}
                                     for operator, operands in self.conditions.items()}
        return rendered

    def _value(self, path: str, values: tuple[Any, ...]) -> Any:
        return values[0] if path in self.single_values and len(values) == 1 else list(values)


def action_matches(pattern: str, action: str) -> bool:
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


# --- building -----------------------------------------------------------------------------------------------


def allow(actions: Sequence[str], resources: Sequence[Any] | Any, condition: Conditions | None = None,
          sid: str | None = None) -> Statement:
    """Allow `actions` (sorted) on `resources` — one ARN (or Input) or a list of them."""
    return _statement(ALLOW, actions, resources, condition, sid)


def deny(actions: Sequence[str], resources: Sequence[Any] | Any, condition: Conditions | None = None,
         sid: str | None = None) -> Statement:
    return _statement(DENY, actions, resources, condition, sid)


def _statement(effect: str, actions: Sequence[str], resources: Sequence[Any] | Any, condition: Conditions | None,
               sid: str | None) -> Statement:
    listed = isinstance(resources, Sequence) and not isinstance(resources, str)
    return Statement(effect=effect, actions=tuple(sorted(actions)),
                     resources=tuple(resources) if listed else (resources,),
                     conditions=_building_conditions(condition), sid=sid or "",
                     single_values=frozenset() if listed else frozenset({"Resource"}) | _single_conditions(condition))


def grant(sid: str, principals: Mapping[str, Any], actions: Sequence[str] | str, resources: Sequence[Any] | Any,
          condition: Conditions | None = None, effect: str = ALLOW) -> Statement:
    """A resource-policy statement: `principals` (kind → one value or a list) may do `actions` on `resources`,
    kept in the order given."""
    single = {f"Principal.{kind}" for kind, values in principals.items() if not _is_list(values)}
    single |= {"Action"} if isinstance(actions, str) else set()
    single |= set() if _is_list(resources) else {"Resource"}
    return Statement(effect=effect, actions=_tuple(actions), resources=_tuple(resources),
                     principals={kind: _tuple(values) for kind, values in principals.items()},
                     conditions=_building_conditions(condition), sid=sid,
                     single_values=frozenset(single) | _single_conditions(condition))


def trusting(principal: Mapping[str, Any] | str, actions: str | Sequence[str] = "sts:AssumeRole",
             condition: Conditions | None = None, sid: str = "") -> Statement:
    """A trust statement: `principal` may assume the role (or take `actions` on it)."""
    principals: Mapping[str, Any] = _principal_map(principal)
    single = {f"Principal.{kind}" for kind, values in principals.items() if not _is_list(values)}
    single |= {"Action"} if isinstance(actions, str) else set()
    return Statement(effect=ALLOW, actions=_tuple(actions),
                     principals={kind: _tuple(values) for kind, values in principals.items()},
                     conditions=_building_conditions(condition), sid=sid,
                     single_values=frozenset(single) | _single_conditions(condition))


def _principal_map(principal: Mapping[str, Any] | str) -> Mapping[str, Any]:
    if isinstance(principal, str):
        return {ANYONE: ANYONE} if principal == ANYONE else {"AWS": principal}
    return principal


def document(statements: Iterable[Statement]) -> dict[str, Any]:
    """A policy document in IAM's JSON form (values may still be Inputs)."""
    return {"Version": VERSION, "Statement": [statement.render() for statement in statements]}


def document_json(statements: Iterable[Statement], compact: bool = False) -> str:
    """The document as JSON text; `compact` as AWS stores it (the form its size limits count)."""
    return json.dumps(document(statements), separators=(",", ":") if compact else None)


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str)


def _tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value) if _is_list(value) else (value,)


def _building_conditions(condition: Conditions | None) -> Mapping[str, Mapping[str, tuple[Any, ...]]]:
    return {operator: {key: _tuple(values) for key, values in operands.items()}
            for operator, operands in (condition or {}).items()}


def _single_conditions(condition: Conditions | None) -> frozenset[str]:
    return frozenset(f"Condition.{operator}.{key}" for operator, operands in (condition or {}).items()
                     for key, values in operands.items() if not _is_list(values))


# --- reading ------------------------------------------------------------------------------------------------


def parse(document_value: Any) -> list[Statement]:
    """Statements of a policy document given as a JSON string or an object; raises DocumentError."""
    if isinstance(document_value, str):
        try:
            document_value = json.loads(document_value)
        except json.JSONDecodeError as err:
            raise DocumentError(f"not valid JSON ({err.msg})") from None
    if not isinstance(document_value, Mapping):
        raise DocumentError("not a JSON object")
    statements = document_value.get("Statement")
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, Sequence) or isinstance(statements, str):
        raise DocumentError("has no Statement list")
    return [_parsed_statement(statement) for statement in statements]


def _parsed_statement(raw: Any) -> Statement:
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


def canonical(document_value: Any) -> dict[str, Any]:
    """A document in one spelling: every value a sorted list, statements in their order. Two documents IAM reads
    alike (one string or a one-item list, actions in any order, keys in any order) have equal canonical forms."""
    statements = []
    for statement in parse(document_value):
        rendered = Statement(
            effect=statement.effect, actions=tuple(sorted(statement.actions)),
            not_actions=None if statement.not_actions is None else tuple(sorted(statement.not_actions)),
            resources=tuple(sorted(statement.resources)),
            not_resources=None if statement.not_resources is None else tuple(sorted(statement.not_resources)),
            principals={kind: tuple(sorted(values)) for kind, values in statement.principals.items()},
            not_principal=statement.not_principal,
            conditions={operator: {key: tuple(sorted(values)) for key, values in operands.items()}
                        for operator, operands in statement.conditions.items()},
            sid=statement.sid).render()
        statements.append(rendered)
    return {"Version": VERSION, "Statement": statements}


def allowed_statements(statements: Iterable[Statement]) -> list[Statement]:
    return [statement for statement in statements if statement.allows]


# --- principals ---------------------------------------------------------------------------------------------


def account_of(principal: str) -> str | None:
    """The account an AWS principal (IAM/STS ARN or bare account id) belongs to."""
    parts = naming.principal_parts(principal)
    return parts.account if parts else None


def is_account_root(principal: str) -> bool:
    """A bare account id or `arn:<partition>:iam::<id>:root`: every principal the account's IAM lets through."""
    parts = naming.principal_parts(principal)
    return bool(parts and (parts.service == "" or (parts.service == "iam" and parts.resource == "root")))


def role_name_of(principal: str) -> str | None:
    """The name of an IAM role ARN (path stripped), None for any other principal."""
    parts = naming.principal_parts(principal)
    if not parts or parts.service != "iam" or not parts.resource.startswith("role/"):
        return None
    return parts.resource.rsplit("/", 1)[-1]
