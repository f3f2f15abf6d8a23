"""The platform's monitoring image, as the Pulumi program and the image build see it: its immutable tag, its URI
in the artifact tier's ECR, and the exact container arguments of its two commands.

The tag is a content hash of everything under `images/monitoring/` (Dockerfile, requirements, the
`mlops_monitoring` package), so the build pipeline and the program compute the same tag from the same commit and
a changed image is a new tag (the repository's tags are immutable). The buildspec prints it with
`python -m mlops_platform.monitoring_image tag`.

The image runs `python -m mlops_monitoring <command> <flags>`; the arguments below are what follows its
ENTRYPOINT. The container paths and file names come from `mlops_monitoring.interface`, the image's own module.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

from mlops_monitoring import interface
from mlops_monitoring.interface import (
    BASELINE_DATA_DIR,
    BASELINE_FILE,
    BASELINE_OUTPUT_DIR,
    BASELINE_SCHEMA_DIR,
    BIAS_GATE_FILE,
    BIAS_MODEL_DIR,
    BIAS_OUTPUT_DIR,
    BIAS_TEST_DIR,
    BIAS_TRAIN_DIR,
    CAPTURE_INPUT_DIR,
    EXPLAINABILITY_FILE,
    MIN_CAPTURED_RECORDS,
    POST_TRAINING_BIAS_FILE,
    PRE_TRAINING_BIAS_FILE,
    REPORT_FILE,
    REPORT_OUTPUT_DIR,
    SCHEMA_FILE,
)
from mlops_platform import contract, naming
from mlops_platform.config import Fairness, UseCase
from mlops_platform.placement import Placement

__all__ = [
    "BASELINE_DATA_DIR",
    "BASELINE_FILE",
    "BASELINE_OUTPUT_DIR",
    "BASELINE_SCHEMA_DIR",
    "BIAS_GATE_FILE",
    "BIAS_MODEL_DIR",
    "BIAS_OUTPUT_DIR",
    "BIAS_TEST_DIR",
    "BIAS_TRAIN_DIR",
    "CAPTURE_INPUT_DIR",
    "CHECK_INTERFACE_ENDPOINTS",
    "EXPLAINABILITY_FILE",
    "IMAGE_DIR",
    "MIN_CAPTURED_RECORDS",
    "POST_TRAINING_BIAS_FILE",
    "PRE_TRAINING_BIAS_FILE",
    "REPORT_FILE",
    "REPORT_OUTPUT_DIR",
    "SCHEMA_FILE",
    "baseline_arguments",
    "bias_baseline_arguments",
    "bias_check_arguments",
    "check_arguments",
    "image_files",
    "image_tag",
    "image_uri",
]

IMAGE_DIR = Path(__file__).resolve().parent.parent / "images" / "monitoring"
"""The image's build context: the Dockerfile, its requirements and the `mlops_monitoring` package."""
TAG_LENGTH = 24
"""Hex digits of the content hash kept in the tag (96 bits: no two builds of this repository collide)."""
_NOT_CONTENT = ("__pycache__", ".pytest_cache", ".mypy_cache")

CHECK_INTERFACE_ENDPOINTS = ("sagemaker.api", "monitoring", "events")
"""The AWS APIs `check` calls from its VPC besides S3 (gateway endpoint): the registry and pipeline executions,
CloudWatch metrics, EventBridge. Unlike the baseline job it cannot run network-isolated."""

Argument = TypeVar("Argument")
"""A container argument the caller may pass as a pipeline variable (e.g. the report's S3 URI per execution)."""


def image_files() -> Iterator[Path]:
    """Every file of the build context, in a fixed order; caches of local runs are not content."""
    for path in sorted(IMAGE_DIR.rglob("*")):
        if path.is_file() and not any(part in _NOT_CONTENT for part in path.relative_to(IMAGE_DIR).parts):
            yield path


def image_tag() -> str:
    """`sha256-<hex>`: the hash of each file's path (relative to the context) and bytes."""
    digest = hashlib.sha256()
    for path in image_files():
        digest.update(path.relative_to(IMAGE_DIR).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return f"sha256-{digest.hexdigest()[:TAG_LENGTH]}"


def image_uri(region: str, registry_account: str) -> str:
    """The monitoring image of this commit in the artifact tier's ECR (`registry_account`)."""
    return naming.ecr_image_uri(region, registry_account, contract.MONITORING_IMAGE_REPOSITORY, image_tag())


def baseline_arguments() -> list[str]:
    """`baseline`: the training features (and their names) in, `baseline.json` out, at the container paths the
    retraining pipeline's baseline step mounts."""
    return [
        interface.COMMAND_BASELINE,
        "--data-dir", BASELINE_DATA_DIR,
        "--schema-dir", BASELINE_SCHEMA_DIR,
        "--output-dir", BASELINE_OUTPUT_DIR,
    ]


def bias_limit_arguments(fairness: Fairness) -> list[str]:
    return [argument for metric, limit in fairness.limits for argument in ("--limit", f"{metric}={limit!r}")]


def bias_baseline_arguments(fairness: Fairness) -> list[str]:
    """`bias-baseline`: the train and test splits, their schema and the model in, the four reports out, at the
    container paths the retraining pipeline's bias step mounts; the facet and each configured limit."""
    return [
        interface.COMMAND_BIAS_BASELINE,
        "--train-dir", BIAS_TRAIN_DIR,
        "--test-dir", BIAS_TEST_DIR,
        "--schema-dir", BASELINE_SCHEMA_DIR,
        "--model-dir", BIAS_MODEL_DIR,
        "--output-dir", BIAS_OUTPUT_DIR,
        "--facet", fairness.facet,
        *bias_limit_arguments(fairness),
    ]


def bias_check_arguments(fairness: Fairness) -> list[str]:
    """What `check` takes on top of its drift arguments for the live bias check (`features.clarify`)."""
    ground_truth = ["--ground-truth-uri", fairness.ground_truth] if fairness.ground_truth else []
    return ["--facet", fairness.facet, *bias_limit_arguments(fairness), *ground_truth]


def check_arguments(use_case: UseCase, placement: Placement, registry_account_id: str,
                    report_uri: Argument) -> list[str | Argument]:
    """`check` of `use_case`'s captured traffic, run in `placement` (the ops tier): the serving version's baseline
    is resolved from the registry in `registry_account_id`; `report_uri` is where the job's `report` output
    (REPORT_OUTPUT_DIR) is uploaded, quoted in the drift event."""
    group = contract.model_package_group_reference(placement.region, placement.account_id, registry_account_id,
                                                   use_case.name)
    return [
        interface.COMMAND_CHECK,
        "--use-case", use_case.name,
        "--region", placement.region,
        "--model-package-group", group,
        "--retraining-pipeline", contract.pipeline_name(use_case.name),
        "--capture-dir", CAPTURE_INPUT_DIR,
        "--report-dir", REPORT_OUTPUT_DIR,
        "--report-uri", report_uri,
        "--drift-threshold", repr(use_case.drift_threshold),
        "--cooldown-hours", str(use_case.retraining_cooldown_hours),
        "--min-records", str(MIN_CAPTURED_RECORDS),
        "--metric-namespace", contract.DRIFT_METRIC_NAMESPACE,
        "--event-source", contract.DRIFT_EVENT_SOURCE,
        "--event-detail-type", contract.DRIFT_EVENT_DETAIL_TYPE,
        *(bias_check_arguments(use_case.fairness) if use_case.fairness is not None else []),
    ]


def main(argv: list[str]) -> int:
    if argv != ["tag"]:
        print("usage: python -m mlops_platform.monitoring_image tag", file=sys.stderr)
        return 2
    print(image_tag())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
