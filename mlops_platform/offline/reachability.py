"""Proof that data scientists cannot reach staging or production, over the captured stacks of a size.

Four independent layers must each hold on their own, so that no single mistake opens a path:
1. identity   — the DataScientist permission set is assigned in no staging, prod or cicd account;
2. trust      — every role in a staging or prod account trusts only AWS services or the exact CI/CD deploy path
                (the pipeline role and the management bootstrap role): no `*`, no account root, no other role;
3. guardrails — a DataScientist role in a staging or prod account, even holding every permission, is refused
                by the SCPs over that account;
4. own rights — the data scientists' own policies (their Studio role, their Identity Center role) allow no
                staging/prod or deploy role to be assumed, no endpoint to change, no model to approve, no IAM
                to write — whatever the resources' policies say — and the permission set carries no managed
                policy.
Layers 3 and 4 are flows of the access matrix (`access_matrix.own_rights_flows`, `guardrail_flows`), judged by
the IAM engine; this module reads their verdicts rather than the documents a second time. In the small size
there is one account and no organization: layers 1 and 3 do not apply (reported so).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from mlops_platform import ci, contract, iam_policy, topology
from mlops_platform.config import PlatformConfig
from mlops_platform.offline.access_matrix import AccessMatrix
from mlops_platform.offline.capture import CapturedStack, SizeResources

LAYERS = ("identity", "trust", "guardrails", "own-rights")


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


def _layer_state(result: Reachability, layer: str) -> str:
    if layer not in result.applicable:
        return "not-applicable"
    return "broken" if any(f.layer == layer for f in result.findings) else "holds"


def protected_accounts(cfg: PlatformConfig) -> set[str]:
    """Accounts that hold staging or prod and nothing else (in the small size prod shares the one account)."""
    tiers_by_account: dict[str, set[str]] = {}
    for tier in topology.tiers(cfg.size):
        tiers_by_account.setdefault(cfg.account_of_tier(tier), set()).add(tier)
    return {account for account, tiers in tiers_by_account.items() if tiers <= topology.PRODUCTION_TIERS}


def prove(cfg: PlatformConfig, stacks: Iterable[CapturedStack], access: AccessMatrix) -> Reachability:
    resources = SizeResources(stacks)
    protected = protected_accounts(cfg)
    result = Reachability()
    if topology.has_organization(cfg.size):
        result.applicable += ["identity", "guardrails"]
        result.findings += _identity(cfg, resources, protected)
        result.findings += _matrix_layer(access, "guardrails")
    result.applicable += ["trust", "own-rights"]
    result.findings += _trust(cfg, resources, protected)
    result.findings += _managed_policies_of_data_scientists(resources)
    result.findings += _matrix_layer(access, "own-rights")
    result.applicable.sort(key=LAYERS.index)
    return result


def _matrix_layer(access: AccessMatrix, layer: str) -> Iterator[Finding]:
    """The layer's flows that do not hold, as findings on the principal (guardrails: on its account)."""
    for result in access.results:
        if result.flow.layer == layer and not result.holds:
            where = result.flow.principal.split(":")[4] if layer == "guardrails" else result.flow.principal
            yield Finding(layer, where, f"{result.flow.name}: {result.decision.result or 'not judged'}")


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
    deploy_path = {contract.deploy_pipeline_role_arn(cfg.partition, cfg.account_of_tier("cicd")),
                   contract.bootstrap_role_arn(cfg.partition, cfg.accounts.get("management", ""))}
    for role in resources.of_type("aws:iam/role:Role"):
        account = resources.account_of(role)
        if account not in protected and contract.tier_from_urn(role.urn) not in topology.PRODUCTION_TIERS:
            continue
        allowed = deploy_path | _ci_principals(cfg, account, str(role.inputs.get("name")))
        for principal in _trusted_principals(role.inputs.get("assumeRolePolicy")):
            if principal.startswith("Service:"):
                continue
            value = principal.removeprefix("AWS:")
            if principal not in allowed and value not in allowed:
                yield Finding("trust", role.urn, f"a role in a staging/prod account trusts {value!r}; only AWS "
                              "services and the CI/CD deploy path may be trusted there")


def _ci_principals(cfg: PlatformConfig, account: str, role_name: str) -> set[str]:
    """The contract's CI principals a staging/prod role may trust: its deploy role, its environment's deploy role;
    CI's preview role, GitHub's OIDC provider of its account and the management account's preview role (its
    pull-request subject and read-only rights are checked by the policy pack and the access matrix)."""
    repository = cfg.ci.github_repository
    if repository is None:
        return set()
    if role_name == ci.PREVIEW_ROLE_NAME:
        principals = {f"Federated:{ci.oidc_provider_arn(cfg.partition, account)}"}
        if "management" in cfg.accounts:
            principals.add(ci.preview_role_arn(cfg.partition, cfg.accounts["management"]))
        return principals
    environment = next((env for env, accounts in ci.environment_accounts(cfg.size, cfg.accounts).items()
                        if account in accounts), None)
    if role_name != cfg.deploy_role_name or environment is None:
        return set()
    return {ci.deploy_role_arn(cfg.partition, cfg.account_of_tier("cicd"), environment)}


def _trusted_principals(policy: Any) -> Iterator[str]:
    """`kind:value` of every principal a trust policy allows to assume the role (or act on it in any way)."""
    for statement in iam_policy.allowed_statements(iam_policy.parse(policy or "{}") if policy else []):
        if statement.is_anyone:
            yield "AWS:*"
            continue
        for kind, values in statement.principals.items():
            for value in values:
                yield f"{kind}:{value}"


def _managed_policies_of_data_scientists(resources: SizeResources) -> Iterator[Finding]:
    """A managed policy on the DataScientist permission set (its content is AWS's, not in the stacks)."""
    for permission_set in resources.of_type("aws:ssoadmin/permissionSet:PermissionSet"):
        if permission_set.inputs.get("name") != contract.DATA_SCIENTIST_PERMISSION_SET:
            continue
        arn = permission_set.outputs.get("arn")
        for attachment in resources.of_type("aws:ssoadmin/managedPolicyAttachment:ManagedPolicyAttachment"):
            if attachment.inputs.get("permissionSetArn") == arn:
                yield Finding("own-rights", attachment.urn, "the DataScientist permission set carries the managed "
                              f"policy {attachment.inputs.get('managedPolicyArn')}")
