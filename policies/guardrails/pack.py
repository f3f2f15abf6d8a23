"""The policy pack: every rule of the catalog as one policy, served with a level per verdict."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, Policy

from guardrails.catalog import RULES
from guardrails.service import serve

PACK_NAME = "mlops-platform-guardrails"


def policies() -> list[Policy]:
    names = [rule.name for rule in RULES]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"rules declared twice: {', '.join(duplicates)}")
    return [rule.policy() for rule in RULES]


def serve_pack() -> None:
    """Answer the analyzer protocol until interrupted (as `pulumi_policy.PolicyPack(...)` does)."""
    serve(PACK_NAME, policies(), EnforcementLevel.MANDATORY)
