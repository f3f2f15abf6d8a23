"""The AWS service icon (a `diagrams` node class) that draws each component kind of `architecture.COMPONENTS`."""

from __future__ import annotations

from typing import Any

from diagrams.aws.analytics import LakeFormation
from diagrams.aws.compute import ECR, Lambda
from diagrams.aws.devtools import Codebuild, Codecommit, Codepipeline
from diagrams.aws.general import General
from diagrams.aws.management import Cloudtrail, Cloudwatch, Organizations
from diagrams.aws.ml import Sagemaker, SagemakerModel, SagemakerNotebook
from diagrams.aws.network import APIGateway
from diagrams.aws.security import IAM
from diagrams.aws.storage import S3

ICONS: dict[str, Any] = {
    "organization": Organizations,
    "identity": IAM,
    "trail": Cloudtrail,
    "datasets": S3,
    "datalake": LakeFormation,
    "code": Codecommit,
    "build": Codebuild,
    "ecr": ECR,
    "registry": SagemakerModel,
    "featurestore": Sagemaker,
    "studio": SagemakerNotebook,
    "pipeline": Sagemaker,
    "monitoring": Cloudwatch,
    "promotion": Codepipeline,
    "deployer": Lambda,
    "api": APIGateway,
    "endpoint": SagemakerModel,
    "replication": S3,
}


def icon_for(kind: str) -> Any:
    return ICONS.get(kind, General)
