"""Sizes, tiers, stacks and accounts: pure data and functions, no Pulumi calls.

A stack is one tier, or (where the size folds tiers together) a group of tiers that share one account.
Stacks are listed in deploy order: a stack may read outputs only from stacks listed before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Size(StrEnum):
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"


TIERS: tuple[str, ...] = ("org", "data", "artifact", "cicd", "ops", "dev", "staging", "prod")
"""Every tier, in deploy order."""

PRODUCTION_TIERS: frozenset[str] = frozenset({"staging", "prod"})
SERVING_TIERS: tuple[str, ...] = ("staging", "prod")
"""The tiers that serve models (endpoints behind the inference API), in promotion order."""
EXPERIMENT_TIERS: frozenset[str] = frozenset({"dev"})
"""Tiers where data scientists experiment: guardrails advise there instead of blocking."""


@dataclass(frozen=True)
class StackSpec:
    """One Pulumi stack of a size: its name, the tiers it hosts, and the logical account it deploys into."""

    name: str
    tiers: tuple[str, ...]
    account: str

    def hosts(self, tier: str) -> bool:
        return tier in self.tiers


_PLATFORM_TIERS = ("data", "artifact", "cicd", "ops", "dev")

_STACKS: dict[Size, tuple[StackSpec, ...]] = {
    Size.SMALL: (
        StackSpec("dev", _PLATFORM_TIERS, "workload"),
        StackSpec("prod", ("prod",), "workload"),
    ),
    Size.MEDIUM: (
        StackSpec("org", ("org",), "management"),
        StackSpec("dev", _PLATFORM_TIERS, "dev"),
        StackSpec("staging", ("staging",), "staging"),
        StackSpec("prod", ("prod",), "prod"),
    ),
    Size.LARGE: (
        StackSpec("org", ("org",), "management"),
        *(StackSpec(tier, (tier,), tier) for tier in _PLATFORM_TIERS),
        StackSpec("staging", ("staging",), "staging"),
        StackSpec("prod", ("prod",), "prod"),
    ),
}


def stacks(size: Size) -> tuple[StackSpec, ...]:
    """The stacks of a size, in deploy order."""
    return _STACKS[size]


def stack_names(size: Size) -> tuple[str, ...]:
    return tuple(spec.name for spec in _STACKS[size])


def stack(size: Size, name: str) -> StackSpec:
    for spec in _STACKS[size]:
        if spec.name == name:
            return spec
    raise KeyError(f"size {size} has no stack {name!r}")


def tiers(size: Size) -> tuple[str, ...]:
    """The tiers a size has, in deploy order."""
    return tuple(tier for tier in TIERS if any(spec.hosts(tier) for spec in _STACKS[size]))


def serving_tiers(size: Size) -> tuple[str, ...]:
    """The serving tiers a size has (staging and prod in medium and large, prod alone in small)."""
    return tuple(tier for tier in SERVING_TIERS if tier in tiers(size))


def stack_hosting(size: Size, tier: str) -> StackSpec:
    for spec in _STACKS[size]:
        if spec.hosts(tier):
            return spec
    raise KeyError(f"size {size} has no tier {tier!r}")


def accounts(size: Size) -> tuple[str, ...]:
    """The logical accounts of a size (the keys of the `accounts` config map), in deploy order."""
    return tuple(dict.fromkeys(spec.account for spec in _STACKS[size]))


def deploy_position(size: Size, stack_name: str) -> int:
    return stack_names(size).index(stack_name)


def has_organization(size: Size) -> bool:
    """Whether the size runs under AWS Organizations (an org stack: SCPs, Identity Center, the deploy path)."""
    return "org" in tiers(size)


def tier_is_enforced(tier: str) -> bool:
    """Guardrails block changes in every tier but the experiment tier, where they advise."""
    return tier not in EXPERIMENT_TIERS
