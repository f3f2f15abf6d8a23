"""Separation of production: staging and prod are reached only through the CI/CD deploy path, never by data
scientists or from the dev and data accounts. Mandatory in every tier: whichever stack creates a role or a
policy in a staging/prod account is judged the same way.

The deploy path is the contract of `mlops_platform.contract`: the cicd account's pipeline role and the
management account's bootstrap role, named by exact ARN. Which account hosts which tier comes from the
`accounts` configuration (see `guardrails.platform`); without it these rules still block what needs no
accounts (`*`, other accounts' roots) and report what they could not check as advisory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pulumi_policy import PolicyResource, Severity
from pulumi_policy.proxy import UnknownValueError

from guardrails.framework import (
    POLICY_INPUTS,
    DevMode,
    Placement,
    Rule,
    StackView,
    Subject,
    Undecided,
    identities,
    known,
    refers_to,
)
from guardrails.platform import Platform, platform
from mlops_platform import ci, contract, topology
from mlops_platform.iam_policy import (
    DocumentError,
    Statement,
    account_of,
    is_account_root,
    parse,
    role_name_of,
    strings,
)

PRODUCTION = topology.PRODUCTION_TIERS
DEV_AND_DATA = frozenset({"dev", "data"})
ROLE = "aws:iam/role:Role"
PERMISSION_SET = "aws:ssoadmin/permissionSet:PermissionSet"
ACCOUNT_ASSIGNMENT = "aws:ssoadmin/accountAssignment:AccountAssignment"
ORG_POLICY = "aws:organizations/policy:Policy"
ORG_POLICY_ATTACHMENT = "aws:organizations/policyAttachment:PolicyAttachment"
ORG_ACCOUNT = "aws:organizations/account:Account"
ORG_UNIT = "aws:organizations/organizationalUnit:OrganizationalUnit"
ORGANIZATION = "aws:organizations/organization:Organization"
SCP = "SERVICE_CONTROL_POLICY"
DEPLOY_PATH_ROLE_NAMES = frozenset({contract.DEPLOY_PIPELINE_ROLE_NAME, contract.BOOTSTRAP_ROLE_NAME})

RESOURCE_POLICY_KEYS: dict[str, str] = {
    resource_type: key for resource_type, key in POLICY_INPUTS.items() if resource_type.split(":")[1].split("/")[0]
    in ("s3", "kms", "ecr", "sagemaker", "cloudwatch")}
"""Resource policies (S3, KMS, ECR, model package groups, event buses) and the input that holds each."""
PRINCIPAL_GRANTS: dict[str, tuple[str, ...]] = {
    "aws:cloudwatch/eventPermission:EventPermission": ("principal",),
    "aws:kms/grant:Grant": ("granteePrincipal", "retiringPrincipal"),
}
"""Grants that name one principal (an account id, an ARN or `*`) instead of a policy document."""
PRINCIPAL_CONDITION_KEYS = ("aws:PrincipalAccount", "aws:PrincipalArn")


# --- where a resource is ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """A resource seen by the separation rules: whether it is in staging/prod (None: cannot tell), and its
    account (from its provider, else from its tier)."""

    production: bool | None
    account: str | None
    known: Platform


def scope_of(placement: Placement) -> Scope:
    known_platform = platform()
    account = placement.account or (known_platform.account_of_tier(placement.tier) if placement.tier else None)
    if placement.in_tiers(PRODUCTION, known_platform):
        return Scope(True, account, known_platform)
    if known_platform.configured or placement.tier not in (None, "org"):
        return Scope(False, account, known_platform)
    return Scope(None, account, known_platform)  # the org tier deploys into member accounts we cannot name


def not_configured(known_platform: Platform) -> str:
    return known_platform.problem or "the accounts are not configured"


# --- role trust ------------------------------------------------------------------------------------------


@dataclass
class Verdicts:
    """What a document's principals come to: violations, and what could not be decided."""

    violations: list[str]
    undecided: list[str]

    def settle(self, scope: Scope, what: str) -> Iterator[str]:
        """Violations are reported; what could not be decided (only ever for want of the accounts) becomes one
        advisory that says why."""
        yield from self.violations
        if self.undecided:
            reason = not_configured(scope.known)
            raise Undecided(f"{reason}; cannot check {what}: " + "; ".join(self.undecided))


def check_role_trust(subject: Subject) -> Iterator[str]:
    scope = scope_of(subject.placement)
    if scope.production is False:
        return
    try:
        statements = parse(subject.props.get("assumeRolePolicy"))
    except DocumentError as err:
        yield f"the trust policy is {err}"
        return
    verdicts = Verdicts([], [])
    for statement in statements:
        if statement.allows and not _is_ci_preview_trust(subject, statement, scope):
            _judge_trust_statement(statement, scope, verdicts)
    yield from verdicts.settle(scope, "whether this role is trusted only by the CI/CD deploy path")


def _is_ci_preview_trust(subject: Subject, statement: Statement, scope: Scope) -> bool:
    """CI's preview role (read only, refused every deploy role) is the one staging/prod role the contract lets
    trust GitHub: its account's OIDC provider for the configured repository's pull requests exactly, and the
    management account's preview role (the org stack's preview)."""
    known_platform = scope.known
    if subject.props.get("name") != ci.PREVIEW_ROLE_NAME or known_platform.ci_repository is None:
        return False
    if statement.principals == {"Federated": (ci.oidc_provider_arn(known_platform.partition, scope.account or ""),)}:
        exact = statement.conditions.get("StringEquals", {})
        return (exact.get(ci.SUBJECT_KEY) == (ci.pull_request_subject(known_platform.ci_repository),)
                and exact.get(ci.AUDIENCE_KEY) == (ci.GITHUB_OIDC_AUDIENCE,)
                and set(statement.conditions) == {"StringEquals"})
    management = known_platform.accounts.get("management")
    return management is not None and statement.principals == {
        "AWS": (ci.preview_role_arn(known_platform.partition, management),)}


def _judge_trust_statement(statement: Statement, scope: Scope, verdicts: Verdicts) -> None:
    where = "a staging/prod role" if scope.production else "a role that may be in a staging/prod account"
    if statement.not_principal:
        verdicts.violations.append(f"{where} trusts everyone but its NotPrincipal; name the deploy path's roles")
        return
    for kind, values in statement.principals.items():
        if kind == "*" or "*" in values:
            verdicts.violations.append(f"{where} trusts every principal ('*')")
        elif kind == "Federated":
            verdicts.violations.append(f"{where} trusts federated identities ({', '.join(values)}), which bypass "
                                       "the CI/CD deploy path")
        elif kind == "AWS":
            for principal in values:
                _judge_trusted_principal(principal, scope, verdicts, where)
        elif kind != "Service":
            verdicts.violations.append(f"{where} trusts {kind} principals ({', '.join(values)})")


def _judge_trusted_principal(principal: str, scope: Scope, verdicts: Verdicts, where: str) -> None:
    known_platform = scope.known
    account = account_of(principal)
    foreign = account is not None and scope.account is not None and account != scope.account
    if is_account_root(principal):
        if scope.production or foreign:
            verdicts.violations.append(f"{where} trusts the root of {_account(account, known_platform)}: every "
                                       "principal its IAM lets through; name the role (the deploy path's pipeline "
                                       "or bootstrap role)")
        else:
            verdicts.undecided.append(f"whether the root of {_account(account, known_platform)} may be trusted")
        return
    if not known_platform.configured:
        _judge_without_accounts(principal, account, scope, verdicts, where)
        return
    if principal in known_platform.deploy_path_roles() or principal == known_platform.ci_deploy_role_of(scope.account):
        return
    name = role_name_of(principal)
    if name in DEPLOY_PATH_ROLE_NAMES:
        verdicts.violations.append(f"{where} trusts {principal}, a deploy-path role name in "
                                   f"{_account(account, known_platform)}; the deploy path is "
                                   f"{', '.join(sorted(known_platform.deploy_path_roles()))}")
    elif name is not None and account is not None and account == scope.account:
        if not _production_role_of(account, name, known_platform):
            verdicts.violations.append(f"{where} trusts {principal}, a role of {_account(account, known_platform)} "
                                       "that is not a staging/prod role")
    else:
        verdicts.violations.append(f"{where} trusts {principal} ({_account(account, known_platform)}), outside the "
                                   "CI/CD deploy path")


def _judge_without_accounts(principal: str, account: str | None, scope: Scope, verdicts: Verdicts,
                            where: str) -> None:
    """Without the accounts, a role named for the deploy path (or one of the same account) cannot be checked;
    any other principal is outside the deploy path whatever the accounts are."""
    name = role_name_of(principal)
    if name in DEPLOY_PATH_ROLE_NAMES or (name is not None and account == scope.account):
        verdicts.undecided.append(f"whether {principal} is on the CI/CD deploy path")
    elif scope.production:
        verdicts.violations.append(f"{where} trusts {principal}, which is not a role of the CI/CD deploy path")
    else:
        verdicts.undecided.append(f"whether trusting {principal} reaches into staging/prod")


def _production_role_of(account: str, role_name: str, known_platform: Platform) -> bool:
    """A same-account role is inside the boundary when the account holds nothing but staging/prod, or (in an
    account shared with other tiers, as in the small size) when the role is named for a staging/prod tier."""
    hosted = known_platform.tiers_in_account(account)
    if hosted and hosted <= PRODUCTION:
        return True
    return any(role_name.startswith(contract.role_name(tier, "")) for tier in PRODUCTION)


def _account(account: str | None, known_platform: Platform) -> str:
    return known_platform.describe_account(account) if account else "an unrecognised account"


# --- resource policies -----------------------------------------------------------------------------------


def check_resource_policy(subject: Subject) -> Iterator[str]:
    scope = scope_of(subject.placement)
    if scope.production is False:
        return
    verdicts = Verdicts([], [])
    key = RESOURCE_POLICY_KEYS.get(subject.type)
    if key is not None:
        document = subject.props.get(key)
        if not document:
            return
        try:
            statements = parse(document)
        except DocumentError as err:
            yield f"the {key} is {err}"
            return
        for statement in statements:
            if statement.allows:
                _judge_grant_statement(statement, scope, verdicts)
    for grant_key in PRINCIPAL_GRANTS.get(subject.type, ()):
        for principal in strings(subject.props.get(grant_key)):
            _judge_granted_principal(principal, scope, verdicts, conditions=())
    yield from verdicts.settle(scope, "whether it grants dev or data principals")


def _judge_grant_statement(statement: Statement, scope: Scope, verdicts: Verdicts) -> None:
    if statement.not_principal:
        verdicts.violations.append("grants everyone but its NotPrincipal, dev and data principals included")
        return
    restricted = tuple(v for key in PRINCIPAL_CONDITION_KEYS for v in statement.condition_values(key))
    for kind, values in statement.principals.items():
        if kind in ("AWS", "*"):
            for principal in values:
                _judge_granted_principal(principal, scope, verdicts, restricted)


def _judge_granted_principal(principal: str, scope: Scope, verdicts: Verdicts, conditions: tuple[str, ...]) -> None:
    known_platform = scope.known
    if principal == "*":
        forbidden = [value for value in conditions if _is_dev_or_data(value, scope)]
        if not conditions or forbidden:
            verdicts.violations.append("grants every principal ('*'), dev and data principals included; name the "
                                       "principals, or restrict aws:PrincipalAccount/aws:PrincipalArn")
        elif not known_platform.configured:
            verdicts.undecided.append(f"whether '*' restricted to {', '.join(conditions)} leaves out dev and data")
        return
    account = account_of(principal)
    if account is None:
        return
    if not known_platform.configured:
        if scope.account is not None and account != scope.account:
            if is_account_root(principal):
                verdicts.violations.append(f"grants the root of account {account}, another account")
            else:
                verdicts.undecided.append(f"whether {principal} is a dev or data principal")
        return
    if _is_dev_or_data(principal, scope):
        verdicts.violations.append(f"grants {principal}, a principal of {_account(account, known_platform)} "
                                   "(dev/data)")


def _is_dev_or_data(principal: str, scope: Scope) -> bool:
    """A principal of an account hosting the dev or data tier, other than the deploy path's roles; inside the
    resource's own account (shared, as in the small size), only roles and users named for dev or data."""
    known_platform = scope.known
    account = account_of(principal)
    if account is None or principal in known_platform.deploy_path_roles():
        return False
    if account not in known_platform.accounts_hosting(DEV_AND_DATA):
        return False
    if account != scope.account:
        return True
    name = principal.rsplit("/", 1)[-1]
    return any(name.startswith(contract.role_name(tier, "")) for tier in DEV_AND_DATA)


# --- Identity Center -------------------------------------------------------------------------------------


def check_data_scientist_assignment(stack: StackView, assignment: PolicyResource) -> Iterator[str]:
    permission_set = _permission_set_name(stack, assignment)
    if permission_set is not None and permission_set != contract.DATA_SCIENTIST_PERMISSION_SET:
        return
    target = _assignment_target(stack, assignment)
    known_platform = platform()
    if not known_platform.configured:
        raise Undecided(f"{not_configured(known_platform)}; cannot tell whether account {target} is a staging, "
                        "prod or CI/CD account")
    if target not in _data_scientist_free_accounts(known_platform):
        return
    if permission_set is None:
        raise Undecided(f"assigns a permission set defined outside this stack to "
                        f"{known_platform.describe_account(target)}; cannot tell whether it is DataScientist")
    yield (f"assigns the {contract.DATA_SCIENTIST_PERMISSION_SET} permission set to "
           f"{known_platform.describe_account(target)}: data scientists never reach staging, prod or CI/CD")


def _permission_set_name(stack: StackView, assignment: PolicyResource) -> str | None:
    for permission_set in stack.of_type(PERMISSION_SET):
        if refers_to(assignment, "permissionSetArn", permission_set, identities(permission_set, "arn", "id")):
            return str(permission_set.props.get("name"))
    return None


def _assignment_target(stack: StackView, assignment: PolicyResource) -> str:
    for account in stack.of_type(ORG_ACCOUNT):
        if refers_to(assignment, "targetId", account, set()):
            return _account_id(account)
    return str(assignment.props.get("targetId"))


def _account_id(account: PolicyResource) -> str:
    """An organization member's id: the last segment of its ARN (`...:account/o-xxx/<id>`)."""
    return str(account.props.get("arn")).rsplit("/", 1)[-1]


def _data_scientist_free_accounts(known_platform: Platform) -> frozenset[str]:
    """Staging and prod accounts, and the CI/CD account where it is not also the dev account."""
    accounts = set(known_platform.accounts_hosting(PRODUCTION))
    cicd = known_platform.account_of_tier("cicd")
    if cicd is not None and "dev" not in known_platform.tiers_in_account(cicd):
        accounts.add(cicd)
    return frozenset(accounts)


# --- service control policies ----------------------------------------------------------------------------


def check_scps_attached(stack: StackView) -> Iterator[tuple[PolicyResource, str]]:
    """In a stack that manages the organization: every SCP is attached, every staging/prod account keeps at
    least one, and an SCP that protects one of staging/prod protects all of them (they share one OU)."""
    managed = [r for r in stack.resources if r.resource_type.startswith(("aws:organizations/", "aws:ssoadmin/"))]
    if not managed:
        return
    anchor = next((r for r in stack.resources if r.resource_type == contract.tier_component_type("org")), managed[0])
    policies = [p for p in stack.of_type(ORG_POLICY) if (known(p.props, "type") or SCP) == SCP]
    targets = {policy.urn: _attachment_targets(stack, policy) for policy in policies}
    for policy in policies:
        if not targets[policy.urn]:
            yield policy, "this service control policy is attached to nothing, so it protects nothing"
    known_platform = platform()
    if known_platform.size is not None and "org" not in topology.tiers(known_platform.size):
        return  # a size without AWS Organizations has no SCPs to keep
    protected = sorted(known_platform.accounts_hosting(PRODUCTION) - {known_platform.accounts.get("management")})
    if not known_platform.configured:
        stack.undecided.append((anchor, f"{not_configured(known_platform)}; cannot tell which accounts are staging "
                                        "and prod, and so whether their SCPs stay attached"))
        return
    for policy in policies:
        direct = [account for account in protected if account in targets[policy.urn]]
        if direct and len(direct) < len(protected):
            missing = [known_platform.describe_account(a) for a in protected if a not in direct]
            yield policy, (f"protects {', '.join(known_platform.describe_account(a) for a in direct)} but not "
                           f"{', '.join(missing)}: staging and prod keep the same SCPs")
    everything = {target for found in targets.values() for target in found}
    for account in protected:
        if account in everything or any(target.startswith("r-") or target == ORGANIZATION for target in everything):
            continue
        if any(target.startswith("ou-") or target == ORG_UNIT for target in everything):
            stack.undecided.append((anchor, f"SCPs are attached to OUs; cannot tell whether "
                                            f"{known_platform.describe_account(account)} is in one of them"))
        else:
            yield anchor, (f"no service control policy of this stack is attached to "
                           f"{known_platform.describe_account(account)}: staging/prod lost their SCPs")


def _attachment_targets(stack: StackView, policy: PolicyResource) -> set[str]:
    """What a policy's attachments target: known target ids, or the type of the resource a target depends on
    (an OU or the organization's root created in this stack)."""
    found: set[str] = set()
    by_urn = {resource.urn: resource for resource in stack.resources}
    names = identities(policy, "id", "arn")
    names |= {name.rsplit("/", 1)[-1] for name in names}
    for attachment in stack.referrers([ORG_POLICY_ATTACHMENT], "policyId", policy, names):
        dependencies = [by_urn.get(dep.urn, dep) for dep in attachment.property_dependencies.get("targetId", [])]
        for dependency in dependencies:
            if dependency.resource_type == ORG_ACCOUNT:
                try:
                    found.add(_account_id(dependency))
                except UnknownValueError as err:
                    stack.undecided.append((attachment, f"its target account's id: {err.message}"))
            else:
                found.add(dependency.resource_type)
        value: Any = known(attachment.props, "targetId")
        if isinstance(value, str) and value:
            found.add(value)
        elif not dependencies:
            stack.undecided.append((attachment, "its targetId is unknown during the preview"))
            found.add("?")
    return found


RULES: tuple[Rule, ...] = (
    Rule("separation-role-trust", "No role in staging/prod trusts a principal outside the CI/CD deploy path",
         Severity.CRITICAL, "Trust only service principals and, by exact ARN, the cicd account's "
         f"{contract.DEPLOY_PIPELINE_ROLE_NAME} role and the management account's {contract.BOOTSTRAP_ROLE_NAME} "
         "role (plus roles of the staging/prod account itself); never '*', an account root, a dev or data "
         "principal, or a federated identity.", resource_types=frozenset({ROLE}), check=check_role_trust,
         dev=DevMode.MANDATORY),
    Rule("separation-data-scientist-assignment",
         "The DataScientist permission set is never assigned to a staging, prod or CI/CD account",
         Severity.CRITICAL, "Assign DataScientist only in the dev account; staging and prod change only through "
         "the deploy path.", resource_types=frozenset({ACCOUNT_ASSIGNMENT}),
         stack_check=check_data_scientist_assignment, dev=DevMode.MANDATORY),
    Rule("separation-resource-policies",
         "No resource policy in staging/prod grants dev or data principals",
         Severity.CRITICAL, "Grant only principals of the staging/prod account, service principals and the deploy "
         "path's roles; never '*', nor roles, users or roots of the dev and data accounts.",
         resource_types=frozenset({*RESOURCE_POLICY_KEYS, *PRINCIPAL_GRANTS}), check=check_resource_policy,
         dev=DevMode.MANDATORY),
    Rule("separation-scps-attached", "Service control policies protecting staging/prod stay attached",
         Severity.CRITICAL, "Attach every SCP (PolicyAttachment) and keep staging and prod (their OU or both "
         "accounts) under the same SCPs.", stack_wide=check_scps_attached, dev=DevMode.MANDATORY),
)
