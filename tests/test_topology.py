"""Tests for `mlops_platform.topology`: sizes → stacks (in deploy order) → tiers hosted → account."""

from __future__ import annotations

import pytest

from mlops_platform import topology
from mlops_platform.topology import Size, StackSpec

PLATFORM_TIERS = ("data", "artifact", "cicd", "ops", "dev")

EXPECTED_STACKS: dict[Size, tuple[StackSpec, ...]] = {
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
        StackSpec("data", ("data",), "data"),
        StackSpec("artifact", ("artifact",), "artifact"),
        StackSpec("cicd", ("cicd",), "cicd"),
        StackSpec("ops", ("ops",), "ops"),
        StackSpec("dev", ("dev",), "dev"),
        StackSpec("staging", ("staging",), "staging"),
        StackSpec("prod", ("prod",), "prod"),
    ),
}

ALL_SIZES = list(Size)


def test_sizes_and_tiers() -> None:
    assert [size.value for size in Size] == ["small", "medium", "large"]
    assert topology.TIERS == ("org", "data", "artifact", "cicd", "ops", "dev", "staging", "prod")


@pytest.mark.parametrize(
    ("size", "names"),
    [
        (Size.SMALL, ("dev", "prod")),
        (Size.MEDIUM, ("org", "dev", "staging", "prod")),
        (Size.LARGE, ("org", "data", "artifact", "cicd", "ops", "dev", "staging", "prod")),
    ],
)
def test_stack_names_in_deploy_order(size: Size, names: tuple[str, ...]) -> None:
    assert topology.stack_names(size) == names
    assert tuple(spec.name for spec in topology.stacks(size)) == names
    assert [topology.deploy_position(size, name) for name in names] == list(range(len(names)))


@pytest.mark.parametrize("size", ALL_SIZES)
def test_stacks_exactly(size: Size) -> None:
    assert topology.stacks(size) == EXPECTED_STACKS[size]


@pytest.mark.parametrize("size", [Size.SMALL, Size.MEDIUM])
def test_folded_dev_stack_hosts_platform_tiers(size: Size) -> None:
    dev = topology.stack(size, "dev")
    assert dev.tiers == ("data", "artifact", "cicd", "ops", "dev")
    for tier in ("data", "artifact", "cicd", "ops", "dev"):
        assert dev.hosts(tier)
    for tier in ("org", "staging", "prod"):
        assert not dev.hosts(tier)


def test_small_has_no_org_or_staging_tier() -> None:
    assert topology.tiers(Size.SMALL) == ("data", "artifact", "cicd", "ops", "dev", "prod")
    for tier in ("org", "staging"):
        assert tier not in topology.stack_names(Size.SMALL)
        with pytest.raises(KeyError, match=f"no tier '{tier}'"):
            topology.stack_hosting(Size.SMALL, tier)


@pytest.mark.parametrize("size", [Size.MEDIUM, Size.LARGE])
def test_medium_and_large_have_every_tier(size: Size) -> None:
    assert topology.tiers(size) == topology.TIERS


@pytest.mark.parametrize(
    ("size", "accounts"),
    [
        (Size.SMALL, ("workload",)),
        (Size.MEDIUM, ("management", "dev", "staging", "prod")),
        (Size.LARGE, ("management", "data", "artifact", "cicd", "ops", "dev", "staging", "prod")),
    ],
)
def test_accounts_per_size(size: Size, accounts: tuple[str, ...]) -> None:
    assert topology.accounts(size) == accounts
    assert {spec.account for spec in topology.stacks(size)} == set(accounts)


def test_small_single_workload_account_for_both_stacks() -> None:
    assert topology.stack(Size.SMALL, "dev").account == "workload"
    assert topology.stack(Size.SMALL, "prod").account == "workload"


@pytest.mark.parametrize("size", [Size.MEDIUM, Size.LARGE])
def test_medium_and_large_have_one_account_per_stack(size: Size) -> None:
    accounts = [spec.account for spec in topology.stacks(size)]
    assert len(accounts) == len(set(accounts))


@pytest.mark.parametrize("size", ALL_SIZES)
def test_every_tier_hosted_by_exactly_one_stack(size: Size) -> None:
    for tier in topology.tiers(size):
        hosts = [spec.name for spec in topology.stacks(size) if spec.hosts(tier)]
        assert len(hosts) == 1, (tier, hosts)
    hosted = [tier for spec in topology.stacks(size) for tier in spec.tiers]
    assert sorted(hosted) == sorted(topology.tiers(size))


@pytest.mark.parametrize(
    ("size", "tier", "stack"),
    [
        (Size.SMALL, "data", "dev"),
        (Size.SMALL, "artifact", "dev"),
        (Size.SMALL, "cicd", "dev"),
        (Size.SMALL, "ops", "dev"),
        (Size.SMALL, "dev", "dev"),
        (Size.SMALL, "prod", "prod"),
        (Size.MEDIUM, "org", "org"),
        (Size.MEDIUM, "data", "dev"),
        (Size.MEDIUM, "artifact", "dev"),
        (Size.MEDIUM, "ops", "dev"),
        (Size.MEDIUM, "staging", "staging"),
        (Size.MEDIUM, "prod", "prod"),
        *((Size.LARGE, tier, tier) for tier in topology.TIERS),
    ],
)
def test_stack_hosting(size: Size, tier: str, stack: str) -> None:
    spec = topology.stack_hosting(size, tier)
    assert spec.name == stack
    assert spec.hosts(tier)
    assert spec is topology.stack(size, stack)


def test_stack_hosting_unknown_tier() -> None:
    with pytest.raises(KeyError, match="no tier 'qa'"):
        topology.stack_hosting(Size.LARGE, "qa")


@pytest.mark.parametrize(("size", "name"), [(Size.SMALL, "ops"), (Size.MEDIUM, "data"), (Size.LARGE, "qa")])
def test_stack_unknown_name(size: Size, name: str) -> None:
    with pytest.raises(KeyError, match=f"no stack '{name}'"):
        topology.stack(size, name)
    with pytest.raises(ValueError):
        topology.deploy_position(size, name)


@pytest.mark.parametrize("size", ALL_SIZES)
def test_deploy_order_follows_tier_order(size: Size) -> None:
    # Stacks come in TIERS order, and each stack's own tiers are listed in TIERS order.
    first_tier_index = [topology.TIERS.index(spec.tiers[0]) for spec in topology.stacks(size)]
    assert first_tier_index == sorted(first_tier_index)
    for spec in topology.stacks(size):
        indexes = [topology.TIERS.index(tier) for tier in spec.tiers]
        assert indexes == sorted(indexes), spec
    # A tier earlier in TIERS is never hosted by a stack deployed later than a later tier's stack.
    tiers = topology.tiers(size)
    positions = [topology.deploy_position(size, topology.stack_hosting(size, tier).name) for tier in tiers]
    assert positions == sorted(positions)
    # `tiers(size)` itself is in TIERS order.
    assert list(tiers) == [tier for tier in topology.TIERS if tier in tiers]


@pytest.mark.parametrize("tier", topology.TIERS)
def test_tier_is_enforced(tier: str) -> None:
    assert topology.tier_is_enforced(tier) is (tier != "dev")


def test_production_and_experiment_tiers() -> None:
    assert frozenset({"staging", "prod"}) == topology.PRODUCTION_TIERS
    assert frozenset({"dev"}) == topology.EXPERIMENT_TIERS
    assert set(topology.TIERS) >= topology.PRODUCTION_TIERS | topology.EXPERIMENT_TIERS


def test_the_permission_set_catalogue_is_the_topologys() -> None:
    from mlops_platform.components import identity

    assert {spec.name: spec.tiers for spec in identity.PERMISSION_SETS} == topology.PERMISSION_SET_TIERS
    assert "DataScientist" in topology.PERMISSION_SET_TIERS and not any(
        tier in topology.PRODUCTION_TIERS for tier in topology.PERMISSION_SET_TIERS["DataScientist"])


def test_every_member_account_has_an_ou() -> None:
    for size in (topology.Size.MEDIUM, topology.Size.LARGE):
        assert {name for name in topology.accounts(size) if name != "management"} <= set(topology.ACCOUNT_OU)
