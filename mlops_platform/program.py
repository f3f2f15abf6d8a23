"""The Pulumi program: validate config, then build every tier this stack hosts, in deploy order."""

from __future__ import annotations

from mlops_platform.config import load_config
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
            builder(TierContext(cfg=cfg, tier=tier, refs=refs, component=component))
