"""CI's identities: a role that trusts GitHub's OIDC provider admits exactly one repository's named jobs.

`github-oidc-trust-pinned`, every tier: each statement trusting `token.actions.githubusercontent.com` must hold
the token's `aud` and `sub` with `StringEquals` to exact values — no `*` or `?` in owner, repository or ref —
and every `sub` must name a repository (`repo:<owner>/<repo>:...`). Without them any GitHub workflow anywhere
could assume the role (GitHub's tokens are issued to every repository).
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Severity

from guardrails.framework import DevMode, Rule, Subject
from mlops_platform import ci
from mlops_platform.iam_policy import DocumentError, Statement, parse

ROLE = "aws:iam/role:Role"
WILDCARDS = ("*", "?")


def _trusts_github(statement: Statement) -> bool:
    return any(value == ci.GITHUB_OIDC_HOST or value.endswith(f":oidc-provider/{ci.GITHUB_OIDC_HOST}")
               for value in statement.principal_values("Federated"))


def _claims(statement: Statement, key: str) -> tuple[list[str], list[str]]:
    """The exact values `key` is held to (StringEquals) and the operators that otherwise mention it."""
    exact: list[str] = []
    loose: list[str] = []
    for operator, operands in statement.conditions.items():
        for condition_key, values in operands.items():
            if condition_key.lower() != key.lower():
                continue
            if operator == "StringEquals":
                exact.extend(values)
            else:
                loose.append(operator)
    return exact, loose


def _subject_problem(subject: str) -> str | None:
    if any(wildcard in subject for wildcard in WILDCARDS):
        return f"sub {subject!r} holds a wildcard"
    parts = subject.split(":")
    if len(parts) < 3 or parts[0] != "repo" or parts[1].count("/") != 1 or not all(parts[1].split("/")):
        return f"sub {subject!r} names no repository (repo:<owner>/<repo>:<job>)"
    if not all(parts[2:]):
        return f"sub {subject!r} names no ref, environment or event"
    return None


def _statement_problems(statement: Statement) -> Iterator[str]:
    where = f"statement {statement.sid or '(no Sid)'} trusts GitHub's OIDC provider"
    audiences, loose_audiences = _claims(statement, ci.AUDIENCE_KEY)
    subjects, loose_subjects = _claims(statement, ci.SUBJECT_KEY)
    if not audiences or loose_audiences or any(w in a for a in audiences for w in WILDCARDS):
        yield f"{where} without StringEquals on {ci.AUDIENCE_KEY} to an exact audience"
    if not subjects or loose_subjects:
        yield (f"{where} without StringEquals on {ci.SUBJECT_KEY} alone"
               + (f" (also {', '.join(sorted(set(loose_subjects)))})" if loose_subjects else "")
               + ": any repository's workflow could assume the role")
    for value in subjects:
        problem = _subject_problem(value)
        if problem:
            yield f"{where}: {problem}"


def check_github_trust(subject: Subject) -> Iterator[str]:
    try:
        statements = parse(subject.props.get("assumeRolePolicy"))
    except DocumentError:
        return  # reported by separation-role-trust where it matters; nothing to read here
    for statement in statements:
        if statement.allows and _trusts_github(statement):
            yield from _statement_problems(statement)


RULES: tuple[Rule, ...] = (
    Rule("github-oidc-trust-pinned",
         "A role trusting GitHub's OIDC provider pins aud and an exact sub (no wildcard owner, repository or ref)",
         Severity.CRITICAL, f"Hold the token with `StringEquals: {{{ci.AUDIENCE_KEY}: {ci.GITHUB_OIDC_AUDIENCE}, "
         f"{ci.SUBJECT_KEY}: repo:<owner>/<repo>:environment:<env>}}` (or `:pull_request`); never StringLike.",
         resource_types=frozenset({ROLE}), check=check_github_trust, dev=DevMode.MANDATORY),
)
