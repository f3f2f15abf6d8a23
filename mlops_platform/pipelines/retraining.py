"""The retraining pipeline of one use case, as a SageMaker Pipelines JSON definition built offline.

preprocess → train → evaluate [+ bias-explainability] → check-metric → ([drift-baseline →] [check-bias →]
register) or metric-below-threshold [or bias-above-limits]; the bias step only with `features.clarify` (see
`_bias_step`); the drift baseline only with `features.modelMonitor`: with the open engine, `python -m
mlops_monitoring baseline` in the platform's monitoring image (the engine the drift check runs, so baselines and
checks always match); with the `sagemaker` engine, Model Monitor's data-quality baseline (closed to new AWS
customers).

The definition is generated with the sagemaker SDK under a ``PipelineSession`` that only records job requests.
Building it makes no AWS call and no network connection (tests/pipelines/test_pipeline_definition.py proves it in a
fresh process with every socket refused; importing the SDK itself may ask the instance metadata service for credentials,
see ``_sdk``), reads none of the machine's AWS or SageMaker SDK configuration, and uploads nothing: the step
scripts are referenced by their ``s3://`` URIs under ``code_prefix``. The caller uploads the files of
:func:`step_scripts` there and creates the pipeline from the definition.

Every job runs in the VPC (``subnet_ids``/``security_group_ids``) with network isolation and inter-container
traffic encryption, and encrypts its volume and its outputs with ``kms_key_arn``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3  # type: ignore[import-untyped]
import botocore.session

from mlops_platform import contract, monitoring_image
from mlops_platform.contract import ATHENA_DATA_CATALOG, pipeline_name
from mlops_platform.pipelines import _sdk as sm
from mlops_platform.pipelines.spec import (
    DRIFT_BASELINE_ENGINES,
    STEP_SCRIPT_NAMES,
    RetrainingPipelineArgs,
    step_scripts,
)

__all__ = ["STEP_SCRIPT_NAMES", "RetrainingPipelineArgs", "build_definition", "step_scripts"]

PARAM_INPUT_DATA_URL = "InputDataUrl"
PARAM_METRIC_THRESHOLD = "MetricThreshold"
PARAM_MODEL_APPROVAL_STATUS = "ModelApprovalStatus"
PARAM_TRAINING_IMAGE = contract.TRAINING_IMAGE_PARAMETER
"""The image that trains, evaluates and serves the model; its starters pass the use case's recorded image."""
APPROVAL_STATUSES = ("PendingManualApproval", "Approved", "Rejected")

STEP_PREPROCESS = "preprocess"
STEP_TRAIN = "train"
STEP_EVALUATE = "evaluate"
STEP_CHECK_METRIC = "check-metric"
STEP_BASELINE = "data-quality-baseline"  # Model Monitor's (engine `sagemaker`)
STEP_DRIFT_BASELINE = "drift-baseline"  # the platform's drift engine (engine `open`)
STEP_REGISTER = "register"  # ModelStep names its registration step "register-RegisterModel"
STEP_FAIL = "metric-below-threshold"
STEP_BIAS = "bias-explainability"  # the platform's bias engine (`features.clarify`)
STEP_CHECK_BIAS = "check-bias"
STEP_BIAS_FAIL = "bias-above-limits"
BIAS_GATE_REPORT = "BiasGate"
STEP_READ_FEATURES = "read-features"

EVALUATION_REPORT = "EvaluationReport"
EVALUATION_FILE = "evaluation.json"
# What steps/evaluate.py reports; the condition can only read one of these.
SUPPORTED_METRICS = ("auc", "accuracy", "f1", "precision", "recall")

XGBOOST_VERSION = "1.7-1"
SKLEARN_VERSION = "1.2-1"
CONTAINER_BASE = "/opt/ml/processing"
PREPROCESS_LAKE_DIR = "lake"  # steps/preprocess.py's LAKE_DIR (the step scripts import nothing of the package)

# Early stopping watches the validation AUC whatever metric the condition reads.
XGBOOST_HYPERPARAMETERS = {
    "objective": "binary:logistic",
    "eval_metric": "auc",
    "num_round": "200",
    "early_stopping_rounds": "20",
    "max_depth": "5",
    "eta": "0.2",
    "subsample": "0.8",
    "min_child_weight": "1",
}

# Never sent: the SDK needs a boto3 session to build clients, and static credentials keep botocore from
# searching the environment, config files or the instance metadata service for real ones.
_UNUSED_CREDENTIALS = "offline-definition-never-sent"
# The SDK's defaults config, given explicitly so the machine's files (/etc/xdg/sagemaker/config.yaml,
# ~/.config/sagemaker/config.yaml, or an S3 URI in SAGEMAKER_*_CONFIG_OVERRIDE) cannot change the definition.
# Telemetry off: Estimator.fit is instrumented and would otherwise call STS and a telemetry endpoint.
_SDK_CONFIG = {"SchemaVersion": "1.0", "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}}}
_USE_CASE_RE = re.compile(r"^[A-Za-z0-9](-*[A-Za-z0-9])*$")


@dataclass(frozen=True)
class _Parameters:
    input_data_url: sm.ParameterString
    metric_threshold: sm.ParameterFloat
    approval_status: sm.ParameterString
    training_image: sm.ParameterString

    def all(self) -> list[sm.ParameterString | sm.ParameterFloat]:
        return [self.input_data_url, self.metric_threshold, self.approval_status, self.training_image]


class _OfflinePipelineSession(sm.PipelineSession):
    """A ``PipelineSession`` that never calls AWS.

    ``Session.default_bucket()`` checks (and may create) the bucket in S3 even when a name is configured; here it
    returns the configured name. Every step sets its S3 locations explicitly, so the SDK needs no default bucket
    today; this keeps a step added without one offline too.
    """

    def __init__(self, region: str, bucket: str) -> None:
        super().__init__(
            boto_session=_offline_boto_session(region), default_bucket=bucket, sagemaker_config=_SDK_CONFIG
        )
        self._offline_bucket = bucket

    def default_bucket(self) -> str:
        return self._offline_bucket


def _offline_boto_session(region: str) -> boto3.Session:
    """A session in ``region`` with static credentials that are never sent; ``AWS_PROFILE`` is not read (a profile
    missing from this machine's config would fail the build)."""
    botocore_session = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
    return boto3.Session(
        botocore_session=botocore_session,
        aws_access_key_id=_UNUSED_CREDENTIALS,
        aws_secret_access_key=_UNUSED_CREDENTIALS,
        region_name=region,
    )


def default_input_data_url(args: RetrainingPipelineArgs) -> str:
    """Where a run started without ``InputDataUrl`` (e.g. by the schedule) reads its CSV files."""
    return args.input_data_url or f"s3://{args.artifact_bucket}/{args.use_case}/input/"


def build_definition(args: RetrainingPipelineArgs) -> str:
    """The pipeline's JSON definition (keys sorted: the same args always give the same string)."""
    _validate(args)
    with sm.quiet_sagemaker(), sm.sdk_config_validated_once():
        session = _OfflinePipelineSession(args.region, args.artifact_bucket)
        with _default_boto_session(session.boto_session):
            definition = str(_pipeline(args, session).definition())
    return json.dumps(json.loads(definition), sort_keys=True)


@contextmanager
def _default_boto_session(boto_session: boto3.Session) -> Iterator[None]:
    """Make ``boto_session`` boto3's default session for the block.

    Some SDK constructors create clients from boto3's default session (``Estimator`` builds a ``TensorBoardApp``
    with ``boto3.client("sagemaker")``), whose credential chain would ask the instance metadata service. Not
    thread-safe, like the SDK patches of ``_sdk``.
    """
    previous = boto3.DEFAULT_SESSION
    boto3.DEFAULT_SESSION = boto_session
    try:
        yield
    finally:
        boto3.DEFAULT_SESSION = previous


def _validate(args: RetrainingPipelineArgs) -> None:
    problems: list[str] = []
    if not _USE_CASE_RE.match(args.use_case):
        problems.append(f"use_case {args.use_case!r} must be letters, digits and hyphens")
    if not args.code_prefix.startswith("s3://"):
        problems.append(f"code_prefix {args.code_prefix!r} must be an s3:// URI (a local path would be uploaded)")
    if args.metric_name not in SUPPORTED_METRICS:
        problems.append(f"metric_name {args.metric_name!r} is not one of {', '.join(SUPPORTED_METRICS)}")
    if not args.subnet_ids or not args.security_group_ids:
        problems.append("subnet_ids and security_group_ids must be non-empty: every job runs in the VPC")
    if args.drift_baseline is not None and args.drift_baseline not in DRIFT_BASELINE_ENGINES:
        problems.append(f"drift_baseline {args.drift_baseline!r} is not one of {', '.join(DRIFT_BASELINE_ENGINES)}")
    if args.drift_baseline == "open" and not args.monitoring_image_uri:
        problems.append("drift_baseline 'open' runs in the monitoring image: monitoring_image_uri is required")
    if args.bias_arguments is not None and not args.monitoring_image_uri:
        problems.append("bias_arguments run in the monitoring image: monitoring_image_uri is required")
    if problems:
        raise ValueError("invalid retraining pipeline args: " + "; ".join(problems))


def _pipeline(args: RetrainingPipelineArgs, session: _OfflinePipelineSession) -> sm.Pipeline:
    params = _Parameters(
        input_data_url=sm.ParameterString(name=PARAM_INPUT_DATA_URL, default_value=default_input_data_url(args)),
        metric_threshold=sm.ParameterFloat(name=PARAM_METRIC_THRESHOLD, default_value=args.metric_threshold),
        approval_status=sm.ParameterString(
            name=PARAM_MODEL_APPROVAL_STATUS,
            default_value=APPROVAL_STATUSES[0],
            enum_values=list(APPROVAL_STATUSES),
        ),
        training_image=sm.ParameterString(name=PARAM_TRAINING_IMAGE, default_value=_training_image(args)),
    )
    image_uri = params.training_image
    preprocess = _preprocess_step(args, session, params)
    features = _read_features_step(args, session, _training_image(args))
    if features is not None:
        preprocess.add_depends_on([features])
    train = _train_step(args, session, preprocess, image_uri)
    report = sm.PropertyFile(name=EVALUATION_REPORT, output_name="evaluation", path=EVALUATION_FILE)
    evaluate = _evaluate_step(args, session, preprocess, train, image_uri, report)
    baseline = _drift_baseline_step(args, session, preprocess)
    bias = _bias_step(args, session, preprocess, train)
    register = _register_step(args, session, train, evaluate, baseline, image_uri, params, bias)
    metric = sm.JsonGet(step_name=evaluate.name, property_file=report, json_path=metric_json_path(args.metric_name))
    check = sm.ConditionStep(
        name=STEP_CHECK_METRIC,
        conditions=[
            sm.ConditionGreaterThanOrEqualTo(
                # JsonGet is a documented operand; the SDK's ConditionValueType annotation omits it.
                left=metric,  # type: ignore[arg-type]
                right=params.metric_threshold,
            )
        ],
        if_steps=[step for step in (baseline, _bias_gate(bias, register)) if step is not None],
        else_steps=[_fail_step(args, metric, params)],
    )
    return sm.Pipeline(
        name=pipeline_name(args.use_case),
        parameters=params.all(),
        steps=[*([features] if features else []), preprocess, train, evaluate, *([bias] if bias is not None else []),
               check],
        sagemaker_session=session,
        # No SageMaker Experiments tracking: the execution role then needs no Experiments permissions.
        pipeline_experiment_config=None,
    )


def metric_json_path(metric_name: str) -> str:
    """Where the condition reads the metric in evaluation.json: ``{"metrics": {name: {"value": ...}}}``."""
    return f"metrics.{metric_name}.value"


def _training_image(args: RetrainingPipelineArgs) -> str:
    if args.training_image_uri is not None:
        return args.training_image_uri
    return str(sm.image_uris.retrieve(framework="xgboost", region=args.region, version=XGBOOST_VERSION))


def _processing_job(args: RetrainingPipelineArgs, session: _OfflinePipelineSession) -> dict[str, Any]:
    """What every processing job of the pipeline shares: its role, size, KMS keys and VPC."""
    return {
        "role": args.role_arn,
        "instance_type": args.processing_instance_type,
        "instance_count": 1,
        "volume_kms_key": args.kms_key_arn,
        "output_kms_key": args.kms_key_arn,
        "network_config": _network(args),
        "sagemaker_session": session,
    }


def _network(args: RetrainingPipelineArgs) -> sm.NetworkConfig:
    return sm.NetworkConfig(
        enable_network_isolation=True,
        security_group_ids=list(args.security_group_ids),
        subnets=list(args.subnet_ids),
        encrypt_inter_container_traffic=True,
    )


def _output_uri(args: RetrainingPipelineArgs, *parts: str) -> sm.Join:
    """s3://<bucket>/<use case>/retraining/<execution id>/<parts...>: each run writes under its own prefix."""
    base = f"s3://{args.artifact_bucket}/{args.use_case}/retraining"
    return sm.Join(on="/", values=[base, sm.ExecutionVariables.PIPELINE_EXECUTION_ID, *parts])


def _script_uri(args: RetrainingPipelineArgs, name: str) -> str:
    return f"{args.code_prefix.rstrip('/')}/{name}"


def _processing_output(args: RetrainingPipelineArgs, step: str, name: str) -> sm.ProcessingOutput:
    return sm.ProcessingOutput(
        output_name=name, source=f"{CONTAINER_BASE}/{name}", destination=_output_uri(args, step, name)
    )


def _preprocess_step(
    args: RetrainingPipelineArgs, session: _OfflinePipelineSession, params: _Parameters
) -> sm.ProcessingStep:
    processor = sm.SKLearnProcessor(framework_version=SKLEARN_VERSION, **_processing_job(args, session))
    step_args = processor.run(
        code=_script_uri(args, "preprocess.py"),
        inputs=_training_inputs(args, params),
        outputs=[
            _processing_output(args, STEP_PREPROCESS, name)
            for name in ("train", "validation", "test", "baseline", "schema")
        ],
    )
    return sm.ProcessingStep(name=STEP_PREPROCESS, step_args=step_args)


def _training_inputs(args: RetrainingPipelineArgs, params: _Parameters) -> list[sm.ProcessingInput]:
    """The preprocess step's input: CSV files under `InputDataUrl`, or — where the use case trains on data lake
    tables — each table's Athena query, which SageMaker runs in the tier's workgroup before the job starts (the
    job itself has no network), its result (gzipped JSON lines) under `lake/<domain.table>/`, where
    `steps/preprocess.py` reads it."""
    if not args.training_queries:
        return [sm.ProcessingInput(input_name="input", source=params.input_data_url,
                                   destination=f"{CONTAINER_BASE}/input")]
    return [sm.ProcessingInput(input_name=f"table-{query.table.replace('.', '-').replace('_', '-')}",
                               dataset_definition=sm.DatasetDefinition(  # type: ignore[no-untyped-call]
                                   local_path=f"{CONTAINER_BASE}/{PREPROCESS_LAKE_DIR}/{query.table}",
                                   data_distribution_type="FullyReplicated", input_mode="File",
                                   athena_dataset_definition=sm.AthenaDatasetDefinition(  # type: ignore[no-untyped-call]
                                       catalog=ATHENA_DATA_CATALOG, database=query.database, query_string=query.query,
                                       work_group=query.workgroup, output_s3_uri=query.output_s3_uri,
                                       kms_key_id=query.kms_key_arn, output_format="JSON",
                                       output_compression="GZIP")))
            for query in args.training_queries]


def _output_property(step: sm.ProcessingStep, output_name: str) -> sm.PipelineVariable:
    """The S3 URI a processing step wrote its output ``output_name`` to, as a property reference."""
    uri: sm.PipelineVariable = step.properties.ProcessingOutputConfig.Outputs[output_name].S3Output.S3Uri
    return uri


def _train_step(
    args: RetrainingPipelineArgs,
    session: _OfflinePipelineSession,
    preprocess: sm.ProcessingStep,
    image_uri: sm.ParameterString,
) -> sm.TrainingStep:
    hyperparameters: dict[str, str | sm.PipelineVariable] = dict(XGBOOST_HYPERPARAMETERS)
    estimator = sm.Estimator(
        image_uri=image_uri,
        role=args.role_arn,
        instance_count=1,
        instance_type=args.training_instance_type,
        output_path=_output_uri(args, STEP_TRAIN, "model"),
        volume_kms_key=args.kms_key_arn,
        output_kms_key=args.kms_key_arn,
        subnets=list(args.subnet_ids),
        security_group_ids=list(args.security_group_ids),
        enable_network_isolation=True,
        encrypt_inter_container_traffic=True,
        hyperparameters=hyperparameters,
        disable_profiler=True,  # no Debugger/Profiler side outputs: the job writes only the model
        debugger_hook_config=False,
        sagemaker_session=session,
    )
    step_args = estimator.fit(
        inputs={
            split: sm.TrainingInput(s3_data=_output_property(preprocess, split), content_type="text/csv")
            for split in ("train", "validation")
        }
    )
    return sm.TrainingStep(name=STEP_TRAIN, step_args=step_args)


def _evaluate_step(
    args: RetrainingPipelineArgs,
    session: _OfflinePipelineSession,
    preprocess: sm.ProcessingStep,
    train: sm.TrainingStep,
    image_uri: sm.ParameterString,
    report: sm.PropertyFile,
) -> sm.ProcessingStep:
    """Runs evaluate.py in the training image: the built-in XGBoost image has python3, xgboost, pandas, sklearn."""
    processor = sm.ScriptProcessor(image_uri=image_uri, command=["python3"], **_processing_job(args, session))
    step_args = processor.run(
        code=_script_uri(args, "evaluate.py"),
        inputs=[
            sm.ProcessingInput(
                input_name="model",
                source=train.properties.ModelArtifacts.S3ModelArtifacts,
                destination=f"{CONTAINER_BASE}/model",
            ),
            sm.ProcessingInput(
                input_name="test", source=_output_property(preprocess, "test"), destination=f"{CONTAINER_BASE}/test"
            ),
        ],
        outputs=[_processing_output(args, STEP_EVALUATE, "evaluation")],
        arguments=["--metric-name", args.metric_name],
    )
    return sm.ProcessingStep(name=STEP_EVALUATE, step_args=step_args, property_files=[report])


def _drift_baseline_step(
    args: RetrainingPipelineArgs, session: _OfflinePipelineSession, preprocess: sm.ProcessingStep
) -> sm.ProcessingStep | sm.QualityCheckStep | None:
    if args.drift_baseline == "open":
        return _open_baseline_step(args, session, preprocess)
    if args.drift_baseline == "sagemaker":
        return _baseline_step(args, session, preprocess)
    return None


def _open_baseline_step(
    args: RetrainingPipelineArgs, session: _OfflinePipelineSession, preprocess: sm.ProcessingStep
) -> sm.ProcessingStep:
    """`python -m mlops_monitoring baseline` (the image's entry point) over the train split's features (the
    preprocess step's ``baseline`` output, named by its ``schema`` output): what the drift check compares served
    traffic with. The job needs no AWS API (SageMaker moves its inputs and outputs), so it keeps network isolation.
    """
    assert args.monitoring_image_uri is not None  # _validate
    processor = sm.Processor(image_uri=args.monitoring_image_uri, **_processing_job(args, session))
    step_args = processor.run(
        inputs=[
            sm.ProcessingInput(input_name="baseline-data", source=_output_property(preprocess, "baseline"),
                               destination=monitoring_image.BASELINE_DATA_DIR),
            sm.ProcessingInput(input_name="schema", source=_output_property(preprocess, "schema"),
                               destination=monitoring_image.BASELINE_SCHEMA_DIR),
        ],
        outputs=[sm.ProcessingOutput(output_name="baseline", source=monitoring_image.BASELINE_OUTPUT_DIR,
                                     destination=_output_uri(args, STEP_DRIFT_BASELINE, "baseline"))],
        arguments=monitoring_image.baseline_arguments(),
    )
    return sm.ProcessingStep(name=STEP_DRIFT_BASELINE, step_args=step_args)


def _baseline_step(
    args: RetrainingPipelineArgs, session: _OfflinePipelineSession, preprocess: sm.ProcessingStep
) -> sm.QualityCheckStep:
    """The first data-quality baseline for Model Monitor, computed on the train split's features.

    preprocess writes them as the ``baseline`` output: the train rows without the target column, headerless, in
    the column order the model is served with, so the statistics and constraints match the endpoint's captured
    requests.
    """
    check_job = sm.CheckJobConfig(  # type: ignore[no-untyped-call]
        role=args.role_arn,
        instance_count=1,
        instance_type=args.processing_instance_type,
        volume_kms_key=args.kms_key_arn,
        output_kms_key=args.kms_key_arn,
        network_config=_network(args),
        sagemaker_session=session,
    )
    config = sm.DataQualityCheckConfig(
        baseline_dataset=_output_property(preprocess, "baseline"),
        dataset_format=sm.DatasetFormat.csv(header=False),  # type: ignore[no-untyped-call]
        output_s3_uri=_output_uri(args, STEP_BASELINE),
    )
    return sm.QualityCheckStep(
        name=STEP_BASELINE,
        quality_check_config=config,
        check_job_config=check_job,
        skip_check=True,
        register_new_baseline=True,
        model_package_group_name=args.model_package_group_name,
    )


def _json_metrics(s3_uri: sm.PipelineVariable) -> sm.MetricsSource:
    return sm.MetricsSource(content_type="application/json", s3_uri=s3_uri)


def _register_step(
    args: RetrainingPipelineArgs,
    session: _OfflinePipelineSession,
    train: sm.TrainingStep,
    evaluate: sm.ProcessingStep,
    baseline: sm.ProcessingStep | sm.QualityCheckStep | None,
    image_uri: sm.ParameterString,
    params: _Parameters,
    bias: sm.ProcessingStep | None = None,
) -> sm.ModelStep:
    evaluation_dir = _output_property(evaluate, "evaluation")
    evaluation = _json_metrics(sm.Join(on="/", values=[evaluation_dir, EVALUATION_FILE]))
    model_metrics = sm.ModelMetrics(model_statistics=evaluation)
    drift_check_baselines = None
    if isinstance(baseline, sm.ProcessingStep):
        statistics = _json_metrics(sm.Join(on="/", values=[_output_property(baseline, "baseline"),
                                                           monitoring_image.BASELINE_FILE]))
        model_metrics = sm.ModelMetrics(model_statistics=evaluation, model_data_statistics=statistics)
        drift_check_baselines = sm.DriftCheckBaselines(model_data_statistics=statistics)
    elif baseline is not None:
        model_metrics = sm.ModelMetrics(
            model_statistics=evaluation,
            model_data_statistics=_json_metrics(baseline.properties.CalculatedBaselineStatistics),
            model_data_constraints=_json_metrics(baseline.properties.CalculatedBaselineConstraints),
        )
        drift_check_baselines = sm.DriftCheckBaselines(
            model_data_statistics=_json_metrics(baseline.properties.BaselineUsedForDriftCheckStatistics),
            model_data_constraints=_json_metrics(baseline.properties.BaselineUsedForDriftCheckConstraints),
        )
    if bias is not None:
        model_metrics = _with_bias_reports(model_metrics, bias)
    model = sm.Model(
        image_uri=image_uri,
        model_data=train.properties.ModelArtifacts.S3ModelArtifacts,
        role=args.role_arn,
        sagemaker_session=session,
    )
    step_args = model.register(
        content_types=["text/csv"],
        response_types=["text/csv"],
        model_package_group_name=args.model_package_group_name,
        approval_status=params.approval_status,
        model_metrics=model_metrics,
        drift_check_baselines=drift_check_baselines,
        description=f"{args.use_case} model trained by {pipeline_name(args.use_case)}",
    )
    return sm.ModelStep(name=STEP_REGISTER, step_args=step_args)


def _fail_step(args: RetrainingPipelineArgs, metric: sm.JsonGet, params: _Parameters) -> sm.FailStep:
    message = sm.Join(
        on=" ",
        values=[
            f"Model not registered: its {args.metric_name} on the test split,",
            metric,
            f"is below {PARAM_METRIC_THRESHOLD}",
            params.metric_threshold,
        ],
    )
    return sm.FailStep(name=STEP_FAIL, error_message=message)


def _bias_step(
    args: RetrainingPipelineArgs, session: _OfflinePipelineSession, preprocess: sm.ProcessingStep,
    train: sm.TrainingStep,
) -> sm.ProcessingStep | None:
    """`python -m mlops_monitoring bias-baseline` (`features.clarify`): pre-training bias of the train split,
    post-training bias and TreeSHAP explanations of the trained model on the test split, and the gate on the
    configured limits (``bias-gate.json``, read through the ``BiasGate`` property file). Like the drift baseline it
    needs no AWS API, so it keeps network isolation."""
    if args.bias_arguments is None:
        return None
    assert args.monitoring_image_uri is not None  # _validate
    processor = sm.Processor(image_uri=args.monitoring_image_uri, **_processing_job(args, session))
    inputs = [
        sm.ProcessingInput(input_name="train", source=_output_property(preprocess, "train"),
                           destination=monitoring_image.BIAS_TRAIN_DIR),
        sm.ProcessingInput(input_name="test", source=_output_property(preprocess, "test"),
                           destination=monitoring_image.BIAS_TEST_DIR),
        sm.ProcessingInput(input_name="schema", source=_output_property(preprocess, "schema"),
                           destination=monitoring_image.BASELINE_SCHEMA_DIR),
        sm.ProcessingInput(input_name="model", source=train.properties.ModelArtifacts.S3ModelArtifacts,
                           destination=monitoring_image.BIAS_MODEL_DIR),
    ]
    step_args = processor.run(
        inputs=inputs,
        outputs=[sm.ProcessingOutput(output_name="bias", source=monitoring_image.BIAS_OUTPUT_DIR,
                                     destination=_output_uri(args, STEP_BIAS, "bias"))],
        arguments=list(args.bias_arguments),
    )
    gate = sm.PropertyFile(name=BIAS_GATE_REPORT, output_name="bias", path=monitoring_image.BIAS_GATE_FILE)
    return sm.ProcessingStep(name=STEP_BIAS, step_args=step_args, property_files=[gate])


def _bias_gate(bias: sm.ProcessingStep | None, register: sm.ModelStep) -> sm.ModelStep | sm.ConditionStep:
    """Register only when no configured bias limit was exceeded; else fail naming the breached metrics."""
    if bias is None:
        return register
    [gate] = bias.property_files
    breached_count = sm.JsonGet(step_name=bias.name, property_file=gate, json_path="breachedCount")
    breached = sm.JsonGet(step_name=bias.name, property_file=gate, json_path="breached")
    fail = sm.FailStep(name=STEP_BIAS_FAIL, error_message=sm.Join(on=" ", values=[
        "Model not registered: bias above its configured limit (metric=value>limit):", breached]))
    return sm.ConditionStep(
        name=STEP_CHECK_BIAS,
        conditions=[sm.ConditionEquals(left=breached_count, right=0)],  # type: ignore[arg-type]
        if_steps=[register], else_steps=[fail])


def _with_bias_reports(model_metrics: sm.ModelMetrics, bias: sm.ProcessingStep) -> sm.ModelMetrics:
    """The package's metrics with the bias step's reports: `Bias.PreTrainingReport`, `Bias.PostTrainingReport`
    (the live bias check's baseline) and `Explainability.Report`."""
    reports = _output_property(bias, "bias")

    def report(name: str) -> sm.MetricsSource:
        return _json_metrics(sm.Join(on="/", values=[reports, name]))

    return sm.ModelMetrics(
        model_statistics=model_metrics.model_statistics, model_data_statistics=model_metrics.model_data_statistics,
        model_data_constraints=model_metrics.model_data_constraints,
        bias_pre_training=report(monitoring_image.PRE_TRAINING_BIAS_FILE),
        bias_post_training=report(monitoring_image.POST_TRAINING_BIAS_FILE),
        explainability=report(monitoring_image.EXPLAINABILITY_FILE))


def _read_features_step(
    args: RetrainingPipelineArgs, session: _OfflinePipelineSession, image_uri: str
) -> sm.ProcessingStep | None:
    """steps/features.py over each feature group's offline store prefix (its Parquet files) in the training image
    (pandas and pyarrow): the latest features of every record, one CSV per group, under the run's prefix. Training
    waits for it, so a run whose features cannot be read stops before it trains."""
    if not args.feature_groups:
        return None
    processor = sm.ScriptProcessor(image_uri=image_uri, command=["python3"], **_processing_job(args, session))
    step_args = processor.run(
        code=_script_uri(args, "features.py"),
        inputs=[
            sm.ProcessingInput(input_name=f"offline-store-{group.name}", source=group.offline_store_uri,
                               destination=f"{CONTAINER_BASE}/offline-store/{group.name}")
            for group in args.feature_groups
        ],
        outputs=[_processing_output(args, STEP_READ_FEATURES, "features")],
        arguments=[argument for group in args.feature_groups
                   for argument in ("--group", f"{group.name}:{group.record_identifier}:{group.event_time}")],
    )
    return sm.ProcessingStep(name=STEP_READ_FEATURES, step_args=step_args)
