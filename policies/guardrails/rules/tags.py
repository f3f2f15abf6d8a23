"""Tags: every taggable AWS resource carries the platform's required tags (tier, size, stack, owner,
managed-by), from its provider's default tags or its own. Whether a type takes tags is read from pulumi-aws
itself (its `<Resource>Args` accepts `tags`)."""

from __future__ import annotations

import functools
import importlib
import inspect
import keyword
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import Severity

from guardrails.framework import Rule, Subject, provider_default_tags
from mlops_platform import contract, topology


@functools.cache
def taggable(type_token: str) -> bool | None:
    """Whether a pulumi-aws resource type accepts `tags`; None for a type this pulumi-aws does not know."""
    try:
        package, module_path, class_name = type_token.split(":")
    except ValueError:
        return None
    if package != "aws":
        return False
    module = module_path.split("/", 1)[0]
    suffix = "_" if keyword.iskeyword(module) else ""
    python_module = "pulumi_aws" if module == "index" else f"pulumi_aws.{module}{suffix}"
    try:
        args_class = getattr(importlib.import_module(python_module), f"{class_name}Args")
    except (ImportError, AttributeError):
        return None
    return "tags" in inspect.signature(args_class.__init__).parameters


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


def warm_up(modules: tuple[str, ...] = ("s3", "iam", "kms", "sagemaker", "ec2", "lambda", "cloudwatch")) -> None:
    """Imports the pulumi-aws modules most stacks use, so the first Analyze calls do not wait for them."""
    for module in modules:
        taggable(f"aws:{module}/warmUp:WarmUp")


RULES: tuple[Rule, ...] = (
    Rule("required-tags", "AWS resources carry the required tags (tier, size, stack, owner, managed-by)",
         Severity.LOW, "Deploy through the tier's provider, whose default_tags carry "
         f"{', '.join(contract.REQUIRED_TAGS)}; or set them on the resource.", check=check_required_tags),
)
