"""Where a component's resources live: tier, account, region and the region's partition, as one value.

Components take a `Placement` (and, where they serve one use case, the whole `config.UseCase`) instead of
loose `tier` / `account_id` / `region` arguments, and name their resources from it through `naming` and
`contract`, never by recomputing a name they were handed.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlops_platform import naming


@dataclass(frozen=True)
class Placement:
    tier: str
    account_id: str
    region: str

    @property
    def partition(self) -> str:
        """`aws`, `aws-cn`, `aws-us-gov`: the partition of `region`, the second field of every ARN."""
        return naming.partition_of(self.region)

    def in_tier(self, tier: str, account_id: str) -> Placement:
        """The same region, another tier (and its account)."""
        return Placement(tier, account_id, self.region)
