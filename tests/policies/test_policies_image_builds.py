"""The named exception of `codebuild-privileged-mode`: each image build — the monitoring image's and
`mlops-<use case>-image-build` — may run privileged, and only as a plain build of the platform's image buildspec in
the cicd tier; where the pack is handed the use cases, only those with an image; any other privileged project is
still a violation. Judged through the analyzer protocol."""

from __future__ import annotations

from typing import Any

import pulumi_aws as aws
import pytest
from guardrails.platform import parse_platform

from mlops_platform import contract
from tests.policies.policy_harness import IMAGED_USE_CASES, At, judge, platform_config

RULE = "codebuild-privileged-mode"


def image_build(name: str, tier: str = "cicd", buildspec: str = contract.IMAGE_BUILDSPEC,
                source_type: str = "CODEPIPELINE") -> Any:
    def program(at: At) -> None:
        aws.codebuild.Project("image", name=name, service_role="arn:aws:iam::444444444444:role/mlops-cicd-x",
                              opts=at(tier), artifacts={"type": "CODEPIPELINE"},
                              encryption_key="arn:aws:kms:eu-west-1:444444444444:key/k",
                              environment={"compute_type": "BUILD_GENERAL1_MEDIUM", "type": "LINUX_CONTAINER",
                                           "image": "aws/codebuild/standard:7.0", "privileged_mode": True,
                                           "image_pull_credentials_type": "CODEBUILD"},
                              source={"type": source_type, "buildspec": buildspec,
                                      "location": "https://github.com/o/r" if source_type == "GITHUB" else None})
    return program


def flagged(program: Any, stack: str = "cicd", config: str = "large") -> bool:
    verdicts = judge(program, stack=stack, config=config)
    return RULE in verdicts.mandatory | verdicts.undecided


@pytest.mark.parametrize("name", [contract.image_build_project_name("churn"),
                                  contract.image_build_project_name("fraud-detection"),
                                  contract.monitoring_image_build_project_name()])
def test_each_named_image_build_may_run_privileged(name: str) -> None:
    assert not flagged(image_build(name))


@pytest.mark.parametrize("program", [
    image_build(contract.image_build_project_name("churn"), buildspec="buildspec.yml"),
    image_build(contract.image_build_project_name("churn"), buildspec="phases: {build: {commands: [id]}}"),
    image_build(contract.image_build_project_name("churn"), source_type="GITHUB"),
    image_build("mlops-churn-build"),
    image_build("mlops--image-build"),
], ids=["buildspec-of-the-repository", "inline-buildspec-without-images", "webhook-source", "unnamed", "no-use-case"])
def test_privilege_outside_a_named_plain_image_build_is_a_violation(program: Any) -> None:
    assert flagged(program)


def test_a_use_case_image_build_outside_the_cicd_tier_is_a_violation() -> None:
    assert flagged(image_build(contract.image_build_project_name("churn"), tier="ops"), stack="ops")


def test_with_the_use_cases_known_only_those_with_an_image_may_build() -> None:
    assert not flagged(image_build(contract.image_build_project_name("churn")), config="large+images")
    assert flagged(image_build(contract.image_build_project_name("fraud")), config="large+images")
    assert flagged(image_build(contract.image_build_project_name("other")), config="large+images")
    assert not flagged(image_build(contract.monitoring_image_build_project_name()), config="large+images")


def test_the_pack_reads_the_imaged_use_cases_only_where_it_is_handed_them() -> None:
    assert parse_platform(platform_config("large+images")).imaged_use_cases == frozenset({"churn"})
    assert parse_platform(platform_config("large")).imaged_use_cases is None
    broken = {**platform_config("large"), "mlops-platform:useCases": '[{"name": "Not Valid"}]'}
    assert parse_platform(broken).imaged_use_cases is None
    assert [u["name"] for u in IMAGED_USE_CASES] == ["churn", "fraud"]
