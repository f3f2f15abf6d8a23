"""The sagemaker SDK classes the pipelines use, imported and run quietly.

The SDK is noisy, slow to build with an explicit defaults config, and changes process-wide state on import;
this module contains all of it:

- ``import sagemaker`` 2.x warns about the v2 deprecation: ``SAGEMAKER_SUPPRESS_V2_WARNING=1`` is set here unless
  the caller set it (the SDK reads it at every warning). It is the one environment change.
- ``sagemaker.experiments`` calls ``logging.basicConfig(level=INFO)`` on import, turning on INFO logs of every
  library: the root logger is put back as it was after the import.
- ``sagemaker.jumpstart`` builds a default session at import, which logs "Not applying SDK defaults" INFO lines
  on stdout (its credential lookup may also ask the instance metadata service: that is the SDK's import, and
  offline it fails at once); building a pipeline logs INFO lines and "Popping out '<field>'" warnings about
  fields the service fills at run time, and warns that a ``PipelineSession`` starts no job.
  :func:`quiet_sagemaker` drops exactly these for the duration of a block, with filters on the SDK's own loggers;
  no level or handler changes.
- ``sagemaker.utils.get_sagemaker_config_value`` validates the session's defaults config against the SDK's JSON
  schema at every lookup (about 0.2 s each, about 150 lookups per pipeline). :func:`sdk_config_validated_once`
  validates each config once for the duration of a block, then restores the SDK's function (a 5 s build
  becomes well under 1 s).
"""

from __future__ import annotations

import copy
import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")

_NOISY_LOGGERS = (
    "sagemaker.config",
    "sagemaker.image_uris",
    "sagemaker.telemetry.telemetry_logging",
    "sagemaker.workflow._utils",
    "sagemaker.workflow.utilities",
)


def _not_noise(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING and not record.getMessage().startswith("Popping out ")


@contextmanager
def quiet_sagemaker() -> Iterator[None]:
    """Drop the SDK's INFO records, its "Popping out" warnings and its PipelineSession UserWarning in the block."""
    loggers = [logging.getLogger(name) for name in _NOISY_LOGGERS]
    for logger in loggers:
        logger.addFilter(_not_noise)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Running within a PipelineSession", category=UserWarning)
            yield
    finally:
        for logger in loggers:
            logger.removeFilter(_not_noise)


@contextmanager
def _root_logging_kept() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        yield
    finally:
        for handler in [handler for handler in root.handlers if handler not in handlers]:
            root.removeHandler(handler)
        root.setLevel(level)


with _root_logging_kept(), quiet_sagemaker():
    import sagemaker.utils as _sdk_utils
    from sagemaker import image_uris
    from sagemaker.dataset_definition.inputs import AthenaDatasetDefinition, DatasetDefinition
    from sagemaker.drift_check_baselines import DriftCheckBaselines
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput
    from sagemaker.model import Model
    from sagemaker.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.model_monitor.dataset_format import DatasetFormat
    from sagemaker.network import NetworkConfig
    from sagemaker.processing import ProcessingInput, ProcessingOutput, Processor, ScriptProcessor
    from sagemaker.sklearn.processing import SKLearnProcessor
    from sagemaker.workflow.check_job_config import CheckJobConfig
    from sagemaker.workflow.condition_step import ConditionStep
    from sagemaker.workflow.conditions import ConditionEquals, ConditionGreaterThanOrEqualTo
    from sagemaker.workflow.entities import PipelineVariable
    from sagemaker.workflow.execution_variables import ExecutionVariables
    from sagemaker.workflow.fail_step import FailStep
    from sagemaker.workflow.functions import Join, JsonGet
    from sagemaker.workflow.model_step import ModelStep
    from sagemaker.workflow.parameters import ParameterFloat, ParameterString
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.pipeline_context import PipelineSession
    from sagemaker.workflow.properties import PropertyFile
    from sagemaker.workflow.quality_check_step import DataQualityCheckConfig, QualityCheckStep
    from sagemaker.workflow.steps import ProcessingStep, TrainingStep

# The name get_sagemaker_config_value calls in sagemaker.utils (imported there from sagemaker.config).
_CONFIG_VALIDATOR = "validate_sagemaker_config"


@contextmanager
def sdk_config_validated_once() -> Iterator[None]:
    """In the block, the SDK validates each defaults config once (again only if it changed), not at every lookup.

    Not thread-safe: it swaps a function of ``sagemaker.utils`` for the block.
    """
    validate = getattr(_sdk_utils, _CONFIG_VALIDATOR)
    validated: list[tuple[object, Any]] = []

    def validate_once(sagemaker_config: dict[str, Any] | None = None) -> None:
        if any(config is sagemaker_config and snapshot == sagemaker_config for config, snapshot in validated):
            return
        validate(sagemaker_config)
        validated.append((sagemaker_config, copy.deepcopy(sagemaker_config)))

    setattr(_sdk_utils, _CONFIG_VALIDATOR, validate_once)
    try:
        yield
    finally:
        setattr(_sdk_utils, _CONFIG_VALIDATOR, validate)


__all__ = [
    "AthenaDatasetDefinition",
    "CheckJobConfig",
    "ConditionEquals",
    "ConditionGreaterThanOrEqualTo",
    "ConditionStep",
    "DataQualityCheckConfig",
    "DatasetDefinition",
    "DatasetFormat",
    "DriftCheckBaselines",
    "Estimator",
    "ExecutionVariables",
    "FailStep",
    "Join",
    "JsonGet",
    "MetricsSource",
    "Model",
    "ModelMetrics",
    "ModelStep",
    "NetworkConfig",
    "ParameterFloat",
    "ParameterString",
    "Pipeline",
    "PipelineSession",
    "PipelineVariable",
    "ProcessingInput",
    "ProcessingOutput",
    "ProcessingStep",
    "Processor",
    "PropertyFile",
    "QualityCheckStep",
    "SKLearnProcessor",
    "ScriptProcessor",
    "TrainingInput",
    "TrainingStep",
    "image_uris",
    "quiet_sagemaker",
    "sdk_config_validated_once",
]
