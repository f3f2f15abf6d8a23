"""The supply chain to production: what other accounts may do to the artifact and cicd tiers, which hold every
model and image prod runs and the pipeline that deploys them.

- `foreign-roots-pinned`, every tier: a grant to another account's root admits every principal that account's
  IAM lets through; it must name the exact principals with an `aws:PrincipalArn` condition.
- `supply-chain-named-roles`, artifact and cicd: a principal of another account is admitted only as a named
  role — the role's ARN itself, or that account's root pinned by `aws:PrincipalArn` to exact role ARNs.
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Severity

from guardrails.framework import POLICY_INPUTS, DevMode, Rule, Subject, Undecided
from guardrails.platform import platform
from guardrails.rules.separation import scope_of
from mlops_platform.iam_policy import DocumentError, Statement, account_of, is_account_root, parse

SUPPLY_CHAIN_TIERS = frozenset({"artifact", "cicd"})
PRINCIPAL_ARN = "aws:PrincipalArn"


def _statements(subject: Subject) -> list[Statement]:
    key = POLICY_INPUTS[subject.type]
    document = subject.props.get(key)
    if not document:
        return []
    try:
        return parse(document)
    except DocumentError:
        return []  # reported by resource-policies-not-public, which reads the same documents


def _home_account(subject: Subject) -> str:
    account = scope_of(subject.placement).account
    if account is None:
        raise Undecided("the resource's account is not known (no provider account, no accounts configured): "
                        "cannot tell which principals are foreign")
    return account


def _pinned_arns(statement: Statement) -> tuple[str, ...]:
    """The exact ARNs `aws:PrincipalArn` is held to (ArnEquals or StringEquals); any wildcard pins nothing."""
    values = [value for operator, operands in statement.conditions.items()
              if operator.removeprefix("ForAnyValue:") in ("ArnEquals", "StringEquals")
              for key, arns in operands.items() if key.lower() == PRINCIPAL_ARN.lower() for value in arns]
    return () if any("*" in value or "?" in value for value in values) else tuple(values)


def _foreign_principals(statement: Statement, home: str) -> list[str]:
    return [principal for principal in statement.principal_values("AWS")
            if (account := account_of(principal)) is not None and account != home]


def check_foreign_roots_pinned(subject: Subject) -> Iterator[str]:
    statements = [s for s in _statements(subject) if s.allows]
    if not statements:
        return
    home = _home_account(subject)
    for statement in statements:
        roots = [p for p in _foreign_principals(statement, home) if is_account_root(p)]
        if roots and not _pinned_arns(statement):
            yield (f"statement {statement.sid or '(no Sid)'} grants the root of {', '.join(sorted(roots))} without "
                   f"an {PRINCIPAL_ARN} condition naming exact principals: every identity of that account would "
                   "be admitted")


def check_named_roles(subject: Subject) -> Iterator[str]:
    if not subject.placement.in_tiers(SUPPLY_CHAIN_TIERS, platform()):
        return
    statements = [s for s in _statements(subject) if s.allows]
    if not statements:
        return
    home = _home_account(subject)
    for statement in statements:
        foreign = _foreign_principals(statement, home)
        unnamed = [p for p in foreign if not is_account_root(p) and ":role/" not in p]
        pinned = _pinned_arns(statement)
        not_roles = [arn for arn in pinned if ":role/" not in arn and account_of(arn) != home]
        if unnamed or (any(is_account_root(p) for p in foreign) and not_roles):
            shown = ", ".join(sorted({*unnamed, *not_roles}))
            yield (f"statement {statement.sid or '(no Sid)'} admits {shown} from another account: the "
                   f"{subject.placement.tier or 'artifact/cicd'} tier admits other accounts' principals only as "
                   f"named roles")


RULES: tuple[Rule, ...] = (
    Rule("foreign-roots-pinned", "No grant names another account's root without an aws:PrincipalArn condition",
         Severity.HIGH, "Keep the account root as principal (valid before the roles exist) and add "
         "`ArnEquals: {aws:PrincipalArn: [exact role ARNs]}`.",
         resource_types=frozenset(POLICY_INPUTS), check=check_foreign_roots_pinned, dev=DevMode.MANDATORY),
    Rule("supply-chain-named-roles",
         "The artifact and cicd tiers admit no principal of another account but named roles",
         Severity.CRITICAL, "Grant other accounts only exact role ARNs, or their root pinned by aws:PrincipalArn "
         "to exact role ARNs; never users, assumed-role sessions or a whole account.",
         resource_types=frozenset(POLICY_INPUTS), check=check_named_roles, dev=DevMode.MANDATORY),
)
