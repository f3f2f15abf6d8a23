"""What a tier builder gets: its config, its provider-bound parent component, and cross-tier refs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from mlops_platform import contract, topology
from mlops_platform.components.kms_key import PlatformKey, PlatformKeyArgs
from mlops_platform.components.secure_bucket import SecureBucket, SecureBucketArgs
from mlops_platform.config import PlatformConfig
from mlops_platform.iam_policy import Statement
from mlops_platform.placement import Placement
from mlops_platform.refs import Refs


class TierComponent(pulumi.ComponentResource):
    """Parents everything one tier builds; its type (`mlops:tier:<Tier>`) tells the policy pack the tier."""

    def __init__(self, tier: str, provider: aws.Provider) -> None:
        super().__init__(contract.tier_component_type(tier), tier, None,
                         pulumi.ResourceOptions(providers=[provider]))


@dataclass
class TierContext:
    cfg: PlatformConfig
    tier: str
    refs: Refs
    component: TierComponent
    _access_logs: SecureBucket | None = field(default=None, init=False)

    @property
    def account_id(self) -> str:
        return self.cfg.account_of_tier(self.tier)

    @property
    def placement(self) -> Placement:
        """This tier, in the account hosting it, in the platform's region."""
        return Placement(self.tier, self.account_id, self.cfg.region)

    @property
    def protects_state(self) -> bool:
        """Stateful resources are protected in every tier but dev, where experiments come and go."""
        return topology.protects_state(self.tier)

    def child(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self.component)

    def name(self, suffix: str) -> str:
        """A logical name unique within the stack, even where one stack hosts several tiers."""
        return f"{self.tier}-{suffix}"

    def key(self, purpose: str, grants: tuple[Statement, ...] = ()) -> PlatformKey:
        """The tier's customer-managed KMS key, aliased `alias/mlops-platform/<tier>`."""
        return PlatformKey(
            self.name("key"),
            PlatformKeyArgs(description=f"mlops-platform {self.tier} tier: {purpose}", placement=self.placement,
                            alias=f"{contract.PROJECT}/{self.tier}",
                            protect=self.protects_state, grants=grants),
            self.child(),
        )

    def bucket(self, suffix: str, key: PlatformKey,
               grants: Callable[[str], list[Statement]] | None = None) -> SecureBucket:
        """A data bucket of the tier, encrypted with `key` and logging to the tier's access-log bucket."""
        return SecureBucket(
            self.name(suffix),
            SecureBucketArgs(placement=self.placement, protect=self.protects_state, kms_key_arn=key.arn,
                             access_log_bucket=self.access_log_bucket(), grants=grants),
            self.child(),
        )

    def access_log_bucket(self) -> pulumi.Output[str]:
        """The tier's S3 server-access-log target, created the first time a bucket of the tier needs one."""
        if self._access_logs is None:
            self._access_logs = SecureBucket(
                self.name("access-logs"),
                SecureBucketArgs(placement=self.placement, protect=self.protects_state),
                self.child(),
            )
        return self._access_logs.bucket
