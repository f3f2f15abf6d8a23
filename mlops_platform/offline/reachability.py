"""Proof that data scientists cannot reach staging or production, over the captured stacks of a size.

Four independent layers must each hold on their own, so that no single mistake opens a path:
1. identity   — the DataScientist permission set is assigned in no staging, prod or cicd account;
2. trust      — every role in a staging or prod account trusts only AWS services or the exact CI/CD deploy path
                (the pipeline role and the management bootstrap role): no `*`, no account root, no other role;
3. guardrails — the SCP that denies the data scientists' Identity Center roles everything is attached over
                every staging and prod account (to its OU, or to the adopted account itself);
4. own rights — the data scientists' identities (their permission set, their Studio role) may not assume
                roles and are explicitly denied endpoint changes and model approval.
In the small size there is one account and no organization: layers 1 and 3 do not apply (reported so).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlops_platform import contract, topology
from mlops_platform.config import PlatformConfig
from mlops_platform.offline.capture import CapturedResource, CapturedStack, SizeResources

LAYERS = ("identity", "trust", "guardrails", "own-rights")
PROTECTED_TIERS = ("staging", "prod")
DATA_SCIENTIST_ROLE_PATTERN = f"AWSReservedSSO_{contract.DATA_SCIENTIST_PERMISSION_SET}_"


@dataclass(frozen=True)
class Finding:
    layer: str
    urn: str
    message: str


@dataclass
class Reachability:
    applicable: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.findings

    def document(self) -> dict[str, Any]:
        return {"passed": self.passed, "layers": {layer: _layer_state(self, layer) for layer in LAYERS},
                "findings": [{"layer": f.layer, "urn": f.urn, "message": f.message} for f in self.findings]}


def _assumes_only_named_roles_outside(statement: dict[str, Any], forbidden: set[str]) -> bool:
    """An `sts:AssumeRole` grant naming exact roles (no wildcard) in none of the `forbidden` accounts (e.g. the
    large size's ops pipeline operator) opens no path to them; the access matrix judges what those roles do."""
    resources = statement.get("Resource", [])
    resources = [resources] if isinstance(resources, str) else resources
    return bool(resources) and all(
        isinstance(arn, str) and "*" not in arn and "?" not in arn and arn.startswith("arn:aws:iam::")
        and arn.split(":")[4] not in forbidden and ":role/" in arn for arn in resources)


def _layer_state(result: Reachability, layer: str) -> str:
    if layer not in result.applicable:
        return "not-applicable"
    return "broken" if any(f.layer == layer for f in result.findings) else "holds"


def protected_accounts(cfg: PlatformConfig) -> set[str]:
    """Accounts that hold staging or prod and nothing else (in the small size prod shares the one account)."""
    tiers_by_account: dict[str, set[str]] = {}
    for tier in topology.tiers(cfg.size):
        tiers_by_account.setdefault(cfg.account_of_tier(tier), set()).add(tier)
    return {account for account, tiers in tiers_by_account.items() if tiers <= set(PROTECTED_TIERS)}


def prove(cfg: PlatformConfig, stacks: Iterable[CapturedStack]) -> Reachability:
    resources = SizeResources(stacks)
    protected = protected_accounts(cfg)
    result = Reachability()
    if topology.has_organization(cfg.size):
        result.applicable += ["identity", "guardrails"]
        result.findings += _identity(cfg, resources, protected)
        result.findings += _guardrails(cfg, resources, protected)
    result.applicable += ["trust", "own-rights"]
    result.findings += _trust(cfg, resources, protected)
    result.findings += _own_rights(resources, protected | {cfg.account_of_tier("cicd")} - {
        cfg.account_of_tier("dev")})
    result.applicable.sort(key=LAYERS.index)
    return result


def _identity(cfg: PlatformConfig, resources: SizeResources, protected: set[str]) -> Iterator[Finding]:
    forbidden = protected | ({cfg.account_of_tier("cicd")} if cfg.account_of_tier("cicd") != cfg.account_of_tier(
        "dev") else set())
    for assignment in resources.of_type("aws:ssoadmin/accountAssignment:AccountAssignment"):
        permission_set = resources.by_output("aws:ssoadmin/permissionSet:PermissionSet", "arn",
                                             assignment.inputs.get("permissionSetArn"))
        name = permission_set.inputs.get("name") if permission_set else None
        if name == contract.DATA_SCIENTIST_PERMISSION_SET and assignment.inputs.get("targetId") in forbidden:
            yield Finding("identity", assignment.urn,
                          f"DataScientist is assigned in account {assignment.inputs.get('targetId')}, "
                          "which hosts staging, prod or cicd")


def _trust(cfg: PlatformConfig, resources: SizeResources, protected: set[str]) -> Iterator[Finding]:
    allowed = {contract.deploy_pipeline_role_arn(cfg.account_of_tier("cicd")),
               contract.bootstrap_role_arn(cfg.accounts.get("management", ""))}
    for role in resources.of_type("aws:iam/role:Role"):
        if resources.account_of(role) not in protected and contract.tier_from_urn(role.urn) not in PROTECTED_TIERS:
            continue
        for principal in _trusted_principals(role.inputs.get("assumeRolePolicy")):
            if principal.startswith("Service:"):
                continue
            value = principal.removeprefix("AWS:")
            if value not in allowed:
                yield Finding("trust", role.urn, f"a role in a staging/prod account trusts {value!r}; only AWS "
                              "services and the CI/CD deploy path may be trusted there")


def _trusted_principals(policy: Any) -> Iterator[str]:
    document = json.loads(policy) if isinstance(policy, str) else policy or {}
    statements = document.get("Statement", [])
    for statement in [statements] if isinstance(statements, Mapping) else statements:
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        if principal == "*":
            yield "AWS:*"
            continue
        for kind, values in (principal or {}).items():
            for value in [values] if isinstance(values, str) else values:
                yield f"{kind}:{value}"


def _guardrails(cfg: PlatformConfig, resources: SizeResources, protected: set[str]) -> Iterator[Finding]:
    denying_ids = {policy.id for policy in resources.of_type("aws:organizations/policy:Policy")
                   if _denies_data_scientists(policy.inputs.get("content"))}
    attached_to = {a.inputs.get("targetId") for a in resources.of_type(
        "aws:organizations/policyAttachment:PolicyAttachment") if a.inputs.get("policyId") in denying_ids}
    parents = {_configured_id(cfg, a): a.inputs.get("parentId")
               for a in resources.of_type("aws:organizations/account:Account")}
    for account in sorted(protected):
        parent = parents.get(account)
        if account not in attached_to and (parent is None or parent not in attached_to):
            yield Finding("guardrails", account, f"no attached SCP denies the data scientists in account {account}")


def _configured_id(cfg: PlatformConfig, account: CapturedResource) -> str:
    """A created account is known by its logical name (`mlops-<name>`) before AWS assigns its id."""
    logical = str(account.inputs.get("name", "")).removeprefix("mlops-")
    return cfg.accounts.get(logical, account.id)


def _denies_data_scientists(content: Any) -> bool:
    document = json.loads(content) if isinstance(content, str) else content or {}
    for statement in document.get("Statement", []):
        actions = statement.get("Action")
        patterns = json.dumps(statement.get("Condition", {}))
        if statement.get("Effect") == "Deny" and actions in ("*", ["*"]) and DATA_SCIENTIST_ROLE_PATTERN in patterns:
            return True
    return False


def _own_rights(resources: SizeResources, forbidden: set[str]) -> Iterator[Finding]:
    """`forbidden`: the accounts of staging, prod and cicd, where no role data scientists assume may live."""
    studio_roles = [p for p in resources.of_type("aws:iam/rolePolicy:RolePolicy") if "studio-data-scientist" in p.name]
    for policy in studio_roles:
        yield from _data_scientist_policy_findings(policy, require_denies=True, forbidden=forbidden)
    for permission_set in resources.of_type("aws:ssoadmin/permissionSet:PermissionSet"):
        if permission_set.inputs.get("name") != contract.DATA_SCIENTIST_PERMISSION_SET:
            continue
        arn = permission_set.outputs.get("arn")
        for attachment in resources.of_type("aws:ssoadmin/managedPolicyAttachment:ManagedPolicyAttachment"):
            if attachment.inputs.get("permissionSetArn") == arn:
                yield Finding("own-rights", attachment.urn, "the DataScientist permission set carries the managed "
                              f"policy {attachment.inputs.get('managedPolicyArn')}")
        for inline in resources.of_type("aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy"):
            if inline.inputs.get("permissionSetArn") == arn:
                yield from _data_scientist_policy_findings(inline, require_denies=False, forbidden=forbidden,
                                                           key="inlinePolicy")


def _data_scientist_policy_findings(policy: CapturedResource, require_denies: bool, forbidden: set[str],
                                    key: str = "policy") -> Iterator[Finding]:
    document = json.loads(policy.inputs.get(key) or "{}")
    allowed: set[str] = set()
    denied: set[str] = set()
    for statement in document.get("Statement", []):
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if statement.get("Effect") == "Allow" and _assumes_only_named_roles_outside(statement, forbidden):
            actions = [a for a in actions if a != "sts:AssumeRole"]
        (allowed if statement.get("Effect") == "Allow" else denied).update(actions)
    escalations = {a for a in allowed if a in ("*", "sts:*", "iam:*", "sts:AssumeRole") or a.startswith("iam:Create")}
    if escalations:
        yield Finding("own-rights", policy.urn, f"data scientists may {', '.join(sorted(escalations))}")
    if require_denies:
        for needed in ("sagemaker:UpdateEndpoint", "sagemaker:CreateEndpoint", "sagemaker:UpdateModelPackage"):
            if needed not in denied:
                yield Finding("own-rights", policy.urn, f"the data scientists' role does not deny {needed}")
