"""The policy pack: every rule of the catalog, as a mandatory policy and (where it applies) a dev advisory twin."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, Policy, PolicyPack

from guardrails.catalog import RULES

PACK_NAME = "mlops-platform-guardrails"


def build_pack() -> PolicyPack:
    names = [rule.name for rule in RULES]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"rules declared twice: {', '.join(duplicates)}")
    policies: list[Policy] = [policy for rule in RULES for policy in rule.policies()]
    return PolicyPack(name=PACK_NAME, policies=policies, enforcement_level=EnforcementLevel.MANDATORY)
