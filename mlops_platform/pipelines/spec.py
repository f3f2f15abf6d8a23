"""What a retraining pipeline is built from, without the sagemaker SDK: its arguments and its step scripts.

Importing this module is cheap; `mlops_platform.pipelines.definitions` builds (or reads back) the definition and
imports the SDK only when it has to.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass

STEP_SCRIPTS_DIR = pathlib.Path(__file__).resolve().parent / "steps"
READ_FEATURES_SCRIPT = "features.py"
"""Run (and uploaded) only where the use case has feature groups."""
STEP_SCRIPT_NAMES = ("preprocess.py", "evaluate.py", READ_FEATURES_SCRIPT)
DRIFT_BASELINE_ENGINES = ("open", "sagemaker")


@dataclass(frozen=True)
class FeatureGroupInput:
    """A feature group of the use case, as the read-features step reads it from its offline store."""

    name: str
    record_identifier: str
    event_time: str
    offline_store_uri: str
    """The s3:// prefix the group's offline store was configured with."""


@dataclass(frozen=True)
class AthenaTrainingInput:
    """One data lake table the preprocess step reads: SageMaker runs `query` in Athena for the (network-isolated)
    job, writes the result under `output_s3_uri` encrypted with `kms_key_arn`, and hands it to the job."""

    table: str  # domain.table
    database: str  # the resource link to the table's database, in the pipeline's account
    query: str
    workgroup: str
    output_s3_uri: str
    kms_key_arn: str


@dataclass(frozen=True)
class RetrainingPipelineArgs:
    use_case: str  # e.g. "churn"; pipeline name f"{use_case}-retraining"
    region: str
    role_arn: str  # pipeline execution role (SageMaker)
    artifact_bucket: str  # S3 bucket for pipeline artifacts/outputs (the default bucket)
    code_prefix: str  # s3:// URI prefix where the step scripts are uploaded, e.g. "s3://bucket/code/churn"
    model_package_group_name: str
    kms_key_arn: str  # output/volume encryption for processing/training jobs
    subnet_ids: tuple[str, ...]  # jobs run in the VPC
    security_group_ids: tuple[str, ...]
    processing_instance_type: str = "ml.m5.large"
    training_instance_type: str = "ml.m5.large"
    training_image_uri: str | None = None  # None → the region's built-in XGBoost image
    metric_name: str = "auc"
    metric_threshold: float = 0.7
    input_data_url: str | None = None  # None → s3://<artifact_bucket>/<use_case>/input/
    drift_baseline: str | None = None
    """The drift baseline computed before registering and registered as the package's `DriftCheckBaselines`
    (`features.modelMonitor`): `open`, the platform's drift engine in its monitoring image (`monitoring.engine:
    open`); `sagemaker`, Model Monitor's data-quality baseline (closed to new AWS customers); None, no baseline."""
    monitoring_image_uri: str | None = None
    """The platform's monitoring image (`mlops_platform.monitoring_image.image_uri`), for `drift_baseline: open`."""
    bias_arguments: tuple[str, ...] | None = None
    """`features.clarify` with a use case's fairness: the monitoring image's `bias-baseline` arguments
    (`monitoring_image.bias_baseline_arguments`) run after training; registration is gated on its limits and the
    package registered with its bias and explainability reports. None: no bias step."""
    feature_groups: tuple[FeatureGroupInput, ...] = ()
    """The use case's feature groups (`features.featureStore`): the read-features step reads their offline stores."""
    training_queries: tuple[AthenaTrainingInput, ...] = ()
    """The data lake tables the preprocess step reads through Lake Formation (one Athena query each) instead of
    `input_data_url`; empty: CSV files under `InputDataUrl`."""


def step_scripts() -> dict[str, pathlib.Path]:
    """File name → local path of each step script; upload them to ``code_prefix`` under the same names."""
    return {name: STEP_SCRIPTS_DIR / name for name in STEP_SCRIPT_NAMES}


def pipeline_step_scripts(reads_features: bool) -> dict[str, pathlib.Path]:
    """The step scripts one pipeline runs: the read-features step's only where it reads feature groups."""
    return {name: path for name, path in step_scripts().items() if reads_features or name != READ_FEATURES_SCRIPT}
