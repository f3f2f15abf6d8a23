"""Cross-tier references fail when the program runs, never at deploy: undeclared names, wrong order."""

from __future__ import annotations

import re

import pytest

from mlops_platform import contract, topology
from mlops_platform.config import PlatformConfig, parse_config
from mlops_platform.refs import Refs


def config(size: str, stack: str) -> PlatformConfig:
    accounts = {name: str(index) * 12 for index, name in enumerate(topology.accounts(topology.Size(size)), 1)}
    return parse_config({"size": size, "region": "eu-west-1", "accounts": accounts}, stack, "organization")


def test_an_undeclared_output_is_a_program_time_error() -> None:
    with pytest.raises(contract.ContractError, match="tier 'artifact' does not export 'bucketName'; it exports: "
                                                    "keyArn, modelBucketName, modelBucketArn"):
        Refs(config("large", "dev")).get("artifact", "bucketName")


def test_an_unknown_tier_is_a_program_time_error() -> None:
    with pytest.raises(contract.ContractError, match="unknown tier 'registry'"):
        Refs(config("large", "dev")).get("registry", "keyArn")


def test_reading_a_stack_that_deploys_later_is_an_error() -> None:
    with pytest.raises(contract.ContractError, match=re.escape(
            "stack 'artifact' reads dev.workspaceBucketName from stack 'dev', which deploys after it")):
        Refs(config("large", "artifact")).get("dev", "workspaceBucketName")


def test_reading_a_tier_of_the_same_stack_before_it_is_built_is_an_error() -> None:
    with pytest.raises(contract.ContractError, match="tier 'artifact' is read before it is built in stack 'dev'"):
        Refs(config("small", "dev")).get("artifact", "keyArn")


def test_a_tier_must_publish_exactly_its_contract() -> None:
    refs = Refs(config("small", "dev"))
    with pytest.raises(contract.ContractError,
                       match="missing: featureStoreBucketArn, featureStoreBucketName, featureStoreKeyArn, "
                             "modelApproverRoleArn, modelBucketArn, modelBucketName; undeclared: bucket"):
        refs.publish("artifact", {"keyArn": "arn:aws:kms:eu-west-1:111111111111:key/x", "bucket": "b"})


def test_export_keys_are_unique_across_tiers() -> None:
    keys = [contract.export_key(tier, name) for tier, names in contract.TIER_EXPORTS.items() for name in names]
    assert len(keys) == len(set(keys))
