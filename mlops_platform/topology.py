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
PLATFORM_TIERS: tuple[str, ...] = ("data", "artifact", "cicd", "ops", "dev")
"""The tiers outside production, in deploy order: in the small and medium sizes they share one account."""
WORKLOAD_TIERS: tuple[str, ...] = (*PLATFORM_TIERS, *SERVING_TIERS)
"""Every tier but the org tier: the tiers of member (workload) accounts."""
STATELESS_TIERS: frozenset[str] = EXPERIMENT_TIERS
"""Tiers whose buckets, keys and repositories are not protected from deletion: experiments come and go."""

ACCOUNT_OU: dict[str, str] = {
    "data": "Data",
    "artifact": "Infrastructure",
    "cicd": "Infrastructure",
    "ops": "Infrastructure",
    "dev": "ML-Dev",
    "staging": "ML-Prod",
    "prod": "ML-Prod",
}
"""Which OU a member account (by its logical name) belongs to. Staging shares prod's OU: both are kept from
data scientists by the same SCPs. The medium size's `dev` account hosts its non-production tiers."""

PERMISSION_SET_TIERS: dict[str, tuple[str, ...]] = {
    "DataScientist": ("dev",),
    "MLEngineer": PLATFORM_TIERS,
    "ModelApprover": ("artifact",),
    "PlatformEngineer": (*PLATFORM_TIERS, "staging"),
    "ReadOnly": WORKLOAD_TIERS,
    "BreakGlassProd": ("prod",),
}
"""Identity Center's permission sets, by name, and the tiers whose accounts each is assigned in. Data scientists
only ever in dev; nobody but break-glass in prod."""


@dataclass(frozen=True)
class StackSpec:
    """One Pulumi stack of a size: its name, the tiers it hosts, and the logical account it deploys into."""

    name: str
    tiers: tuple[str, ...]
    account: str

    def hosts(self, tier: str) -> bool:
        return tier in self.tiers


_STACKS: dict[Size, tuple[StackSpec, ...]] = {
    Size.SMALL: (
        StackSpec("dev", PLATFORM_TIERS, "workload"),
        StackSpec("prod", ("prod",), "workload"),
    ),
    Size.MEDIUM: (
        StackSpec("org", ("org",), "management"),
        StackSpec("dev", PLATFORM_TIERS, "dev"),
        StackSpec("staging", ("staging",), "staging"),
        StackSpec("prod", ("prod",), "prod"),
    ),
    Size.LARGE: (
        StackSpec("org", ("org",), "management"),
        *(StackSpec(tier, (tier,), tier) for tier in PLATFORM_TIERS),
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


def protects_state(tier: str) -> bool:
    """Stateful resources are protected from deletion in every tier but dev."""
    return tier not in STATELESS_TIERS


def deploys_on_approval_by_function(size: Size) -> bool:
    """The small size deploys approved models by a Lambda (the approval deployer); the larger ones promote them
    through the CI/CD pipeline and `pulumi up`."""
    return size == Size.SMALL


def tier_is_enforced(tier: str) -> bool:
    """Guardrails block changes in every tier but the experiment tier, where they advise."""
    return tier not in EXPERIMENT_TIERS


def hosts_data_lake(size: Size) -> bool:
    """Whether the size builds the governed data lake: only where the data tier has an account of its own (large),
    which Lake Formation shares from to the ops and dev accounts. The smaller sizes read the datasets bucket."""
    return stack_hosting(size, "data").tiers == ("data",)
