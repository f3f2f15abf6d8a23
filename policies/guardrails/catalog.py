"""Every rule of the pack, in the order the README documents them."""

from __future__ import annotations

from guardrails.framework import Rule
from guardrails.rules import (
    apigateway,
    codebuild,
    codepipeline,
    data_lake,
    data_safety,
    ecr,
    github_oidc,
    iam,
    kms,
    lambdas,
    public_access,
    s3,
    sagemaker,
    separation,
    sns,
    supply_chain,
    tags,
)

RULES: tuple[Rule, ...] = (
    *separation.RULES,
    *supply_chain.RULES,
    *github_oidc.RULES,
    *sagemaker.RULES,
    *s3.RULES,
    *kms.RULES,
    *ecr.RULES,
    *lambdas.RULES,
    *apigateway.RULES,
    *codebuild.RULES,
    *codepipeline.RULES,
    *sns.RULES,
    *iam.RULES,
    *public_access.RULES,
    *data_lake.RULES,
    *data_safety.RULES,
    *tags.RULES,
)
