"""Tags: every taggable AWS resource carries the platform's required tags (tier, size, stack, owner,
managed-by), from its provider's default tags or its own. Whether a type takes tags comes from the table
generated from pulumi-aws (`guardrails.taggable_types`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import Severity

from guardrails.framework import Rule, Subject, provider_default_tags
from guardrails.taggable_types import taggable
from mlops_platform import contract, topology


def effective_tags(subject: Subject) -> dict[str, Any]:
    tags: dict[str, Any] = dict(provider_default_tags(subject.provider_props))
    for key in ("tags", "tagsAll"):
        own = subject.props.get(key)
        if isinstance(own, Mapping):
            tags.update({str(name): own[name] for name in own})
    return tags


def check_required_tags(subject: Subject) -> Iterator[str]:
    kind = taggable(subject.type)
    if kind is False or (kind is None and "tags" not in subject.props):
        return
    tags = effective_tags(subject)
    missing = [key for key in contract.REQUIRED_TAGS if not str(tags.get(key) or "").strip()]
    if missing:
        yield (f"missing required tags {', '.join(missing)}: deploy through the tier's provider (its default tags "
               "carry them) or tag the resource")
    tier = tags.get(contract.TAG_TIER)
    if tier and tier not in topology.TIERS:
        yield f"tag {contract.TAG_TIER}={tier!r} names no tier ({', '.join(topology.TIERS)})"


RULES: tuple[Rule, ...] = (
    Rule("required-tags", "AWS resources carry the required tags (tier, size, stack, owner, managed-by)",
         Severity.LOW, "Deploy through the tier's provider, whose default_tags carry "
         f"{', '.join(contract.REQUIRED_TAGS)}; or set them on the resource.", check=check_required_tags),
)
