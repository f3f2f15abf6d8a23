"""The Pulumi program: validate config, then build every tier this stack hosts, in deploy order."""

from __future__ import annotations

from mlops_platform import contract, topology
from mlops_platform.components.iam import permissions_boundary
from mlops_platform.config import PlatformConfig, load_config
from mlops_platform.providers import tier_provider
from mlops_platform.refs import Refs
from mlops_platform.tiers import BUILDERS
from mlops_platform.tiers.context import TierComponent, TierContext


def build_stack() -> None:
    cfg = load_config()
    refs = Refs(cfg)
    for tier in cfg.stack.tiers:
        component = TierComponent(tier, tier_provider(cfg, tier))
        builder = BUILDERS.get(tier)
        if builder is not None:
            with permissions_boundary(tier_permissions_boundary(cfg, tier)):
                builder(TierContext(cfg=cfg, tier=tier, refs=refs, component=component))


def tier_permissions_boundary(cfg: PlatformConfig, tier: str) -> str | None:
    """The boundary the org stack creates in every platform account before any role: workload tiers of the sizes
    with an organization carry it; the small size (no org stack) and the org tier's own roles name theirs."""
    if tier == "org" or not topology.has_organization(cfg.size):
        return None
    return contract.permissions_boundary_arn(cfg.partition, cfg.account_of_tier(tier))
