"""Cross-tier outputs: `refs.get(tier, name)` is an in-stack value or a StackReference output.

Every name passes through the contract (`contract.TIER_EXPORTS`), so a tier that asks for an output
nobody exports, or one from a stack deployed after its own, fails when the program runs, not at deploy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from mlops_platform import contract, topology
from mlops_platform.config import PlatformConfig


class Refs:
    def __init__(self, cfg: PlatformConfig) -> None:
        self._cfg = cfg
        self._published: dict[str, dict[str, pulumi.Output[Any]]] = {}
        self._stack_references: dict[str, pulumi.StackReference] = {}

    def publish(self, tier: str, outputs: Mapping[str, pulumi.Input[Any]]) -> None:
        """Export a tier's contract: exactly the names `contract.TIER_EXPORTS[tier]` declares."""
        declared = set(contract.TIER_EXPORTS[tier])
        if set(outputs) != declared:
            missing = ", ".join(sorted(declared - set(outputs))) or "none"
            extra = ", ".join(sorted(set(outputs) - declared)) or "none"
            raise contract.ContractError(
                f"tier {tier!r} must publish exactly its contract; missing: {missing}; undeclared: {extra}")
        values = {name: pulumi.Output.from_input(value) for name, value in outputs.items()}
        self._published[tier] = values
        for name, value in values.items():
            pulumi.export(contract.export_key(tier, name), value)

    def get(self, tier: str, name: str) -> pulumi.Output[Any]:
        contract.require_declared(tier, name)
        size = self._cfg.size
        if tier not in topology.tiers(size):
            raise contract.ContractError(f"size {size.value!r} has no tier {tier!r} to read {name!r} from")
        if self._cfg.stack.hosts(tier):
            if tier not in self._published:
                raise contract.ContractError(
                    f"tier {tier!r} is read before it is built in stack {self._cfg.stack.name!r}")
            return self._published[tier][name]
        source = topology.stack_hosting(size, tier)
        if topology.deploy_position(size, source.name) > topology.deploy_position(size, self._cfg.stack.name):
            raise contract.ContractError(
                f"stack {self._cfg.stack.name!r} reads {tier}.{name} from stack {source.name!r}, "
                "which deploys after it")
        reference = self._stack_reference(source.name)
        return pulumi.Output.from_input(reference.require_output(contract.export_key(tier, name)))

    def _stack_reference(self, stack_name: str) -> pulumi.StackReference:
        if stack_name not in self._stack_references:
            self._stack_references[stack_name] = pulumi.StackReference(
                stack_name, contract.stack_reference_name(self._cfg.stack_organization, stack_name))
        return self._stack_references[stack_name]
