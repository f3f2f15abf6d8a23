"""The data lake's Lake Formation grants, judged exactly: the captured `aws:lakeformation/permissions:Permissions`
resources of every stack (both sides of the cross-account hop) must equal the designed set, no more, no less.

The IAM engine of the access matrix cannot see Lake Formation: a grant too many (a role reading a table its use
case does not train on, anyone reading the raw columns data scientists are filtered from) would pass every IAM
flow. So the designed grants are written here from the config alone, the way the issue states them:

- the data account shares with the ops *account* the tables its use cases train on, and with the dev account every
  curated table (only the configured columns where `dataLake.dataScientistColumns` filters one), each database of
  those tables DESCRIBE, all with grant option (the receiving admin grants on from it);
- in the ops account, each use case's retraining role DESCRIBE on the links to its tables' databases and SELECT on
  exactly its tables; in the dev account, the data scientists' role the same over the dev share;
- nobody else, never `ALL`, never `IAMAllowedPrincipals`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mlops_platform import contract
from mlops_platform.config import DataLake, PlatformConfig
from mlops_platform.offline.capture import CapturedResource, CapturedStack, SizeResources

PERMISSIONS_TYPE = "aws:lakeformation/permissions:Permissions"
TABLE_READ = ("DESCRIBE", "SELECT")
COLUMN_READ = ("SELECT",)
DATABASE_SEE = ("DESCRIBE",)


@dataclass(frozen=True, order=True)
class LakeGrant:
    """One Lake Formation grant: made in `account` (whose admin holds it) to `principal` (a role ARN or an account
    id) on `resource` (`database:<catalog>/<db>`, `table:<catalog>/<db>/<table>`, or with `[columns]`)."""

    account: str
    principal: str
    resource: str
    permissions: tuple[str, ...]
    grantable: tuple[str, ...] = ()

    def document(self) -> dict[str, Any]:
        return {"account": self.account, "principal": self.principal, "resource": self.resource,
                "permissions": list(self.permissions), "grantable": list(self.grantable)}


@dataclass
class LakeGrants:
    captured: list[LakeGrant] = field(default_factory=list)
    missing: list[LakeGrant] = field(default_factory=list)
    """Designed, not created: a reader would be refused."""
    unexpected: list[LakeGrant] = field(default_factory=list)
    """Created, not designed: someone reads what the design does not give them."""

    @property
    def passed(self) -> bool:
        return not self.missing and not self.unexpected

    def document(self) -> dict[str, Any]:
        return {"passed": self.passed, "grants": [grant.document() for grant in self.captured],
                "missing": [grant.document() for grant in self.missing],
                "unexpected": [grant.document() for grant in self.unexpected]}


def database(catalog: str, name: str) -> str:
    return f"database:{catalog}/{name}"


def table(catalog: str, database_name: str, name: str, columns: Iterable[str] | None = None) -> str:
    shown = f"table:{catalog}/{database_name}/{name}"
    return shown if columns is None else f"{shown}[{','.join(sorted(columns))}]"


def _sorted(values: Any) -> tuple[str, ...]:
    return tuple(sorted(str(value) for value in values or []))


def captured_grant(account: str, resource: CapturedResource) -> LakeGrant:
    inputs = resource.inputs
    if inputs.get("database"):
        target = database(str(inputs["database"].get("catalogId", account)), str(inputs["database"]["name"]))
    elif inputs.get("table"):
        spec = inputs["table"]
        target = table(str(spec.get("catalogId", account)), str(spec["databaseName"]), str(spec.get("name", "*")))
    elif inputs.get("tableWithColumns"):
        spec = inputs["tableWithColumns"]
        target = table(str(spec.get("catalogId", account)), str(spec["databaseName"]), str(spec["name"]),
                       [str(column) for column in spec.get("columnNames") or []])
    else:
        kinds = sorted(key for key in inputs if key not in ("principal", "permissions", "catalogId",
                                                             "permissionsWithGrantOptions"))
        target = f"other:{','.join(kinds)}"
    return LakeGrant(account=str(inputs.get("catalogId") or account), principal=str(inputs.get("principal")),
                     resource=target, permissions=_sorted(inputs.get("permissions")),
                     grantable=_sorted(inputs.get("permissionsWithGrantOptions")))


def captured_grants(stacks: Iterable[CapturedStack]) -> list[LakeGrant]:
    resources = SizeResources(stacks)
    return sorted(captured_grant(resources.account_of(r), r) for r in resources.of_type(PERMISSIONS_TYPE))


def designed_grants(cfg: PlatformConfig) -> list[LakeGrant]:
    lake = cfg.governed_data_lake
    if lake is None:
        return []
    grants: list[LakeGrant] = []
    data, ops, dev = (cfg.account_of_tier(tier) for tier in ("data", "ops", "dev"))
    training = list(dict.fromkeys(ref for use_case in cfg.use_cases for ref in use_case.training_tables))
    grants += _share(data, ops, lake, {ref: None for ref in training})
    scientists = {t.ref: lake.scientist_columns.get(t.ref) for t in lake.tables}
    grants += _share(data, dev, lake, scientists)
    for use_case in cfg.use_cases:
        if use_case.training_tables:
            role = contract.role_arn(cfg.partition, ops, contract.retraining_role_name(use_case.name))
            grants += _local(ops, role, data, lake, {ref: None for ref in use_case.training_tables})
    grants += _local(dev, contract.role_arn(cfg.partition, dev, contract.data_scientist_role_name()), data, lake,
                     scientists)
    return sorted(grants)


def _read(catalog: str, lake: DataLake, ref: str, columns: tuple[str, ...] | None) -> tuple[str, tuple[str, ...]]:
    entry = lake.table(ref)
    name = contract.data_lake_database_name(entry.domain)
    if columns is None:
        return table(catalog, name, entry.name), TABLE_READ
    return table(catalog, name, entry.name, columns), COLUMN_READ


def _share(data: str, account: str, lake: DataLake, tables: dict[str, tuple[str, ...] | None]) -> list[LakeGrant]:
    """What the data account shares with `account`: with grant option, so that account's admin can grant it."""
    domains = dict.fromkeys(lake.table(ref).domain for ref in tables)
    grants = [LakeGrant(data, account, database(data, contract.data_lake_database_name(domain)), DATABASE_SEE,
                        DATABASE_SEE) for domain in domains]
    for ref, columns in tables.items():
        target, permissions = _read(data, lake, ref, columns)
        grants.append(LakeGrant(data, account, target, permissions, permissions))
    return grants


def _local(account: str, role: str, data: str, lake: DataLake,
           tables: dict[str, tuple[str, ...] | None]) -> list[LakeGrant]:
    """What `account`'s admin grants its role: DESCRIBE on the links, SELECT on the shared tables (no grant option)."""
    domains = dict.fromkeys(lake.table(ref).domain for ref in tables)
    grants = [LakeGrant(account, role, database(account, contract.data_lake_link_name(domain)), DATABASE_SEE)
              for domain in domains]
    for ref, columns in tables.items():
        target, permissions = _read(data, lake, ref, columns)
        grants.append(LakeGrant(account, role, target, permissions))
    return grants


def judge(designed: Iterable[LakeGrant], captured: Iterable[LakeGrant]) -> LakeGrants:
    wanted, made = sorted(set(designed)), sorted(captured)
    return LakeGrants(captured=made, missing=[grant for grant in wanted if grant not in made],
                      unexpected=[grant for grant in made if grant not in wanted])


def check(cfg: PlatformConfig, stacks: Iterable[CapturedStack]) -> LakeGrants:
    return judge(designed_grants(cfg), captured_grants(stacks))
