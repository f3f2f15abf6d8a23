"""`python -m mlops_monitoring baseline|bias-baseline|check`: the image's entry point.

Exit status: 0 when the command did its job (a check without a verdict included: its event says why), 2 for input
it cannot use, 1 for a failed AWS call or file operation; either failure is one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from mlops_monitoring import aws, interface
from mlops_monitoring.bias import BiasBaselineInputs, run_bias_baseline
from mlops_monitoring.check import CheckSettings, run_check
from mlops_monitoring.errors import MonitoringError
from mlops_monitoring.fairness import parse_limit
from mlops_monitoring.live_bias import BiasSettings
from mlops_monitoring.profile import build_baseline, read_training_features, write_baseline

PROGRAM = "mlops_monitoring"


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog=f"python -m {PROGRAM}", description="The platform's drift engine.")
    commands = root.add_subparsers(dest="command", required=True)
    baseline = commands.add_parser(interface.COMMAND_BASELINE, help="profile the training features")
    baseline.add_argument("--data-dir", type=Path, default=Path(interface.BASELINE_DATA_DIR))
    baseline.add_argument("--schema-dir", type=Path, default=Path(interface.BASELINE_SCHEMA_DIR))
    baseline.add_argument("--output-dir", type=Path, default=Path(interface.BASELINE_OUTPUT_DIR))
    bias = commands.add_parser(interface.COMMAND_BIAS_BASELINE, help="bias and explanations of the trained model")
    bias.add_argument("--train-dir", type=Path, default=Path(interface.BIAS_TRAIN_DIR))
    bias.add_argument("--test-dir", type=Path, default=Path(interface.BIAS_TEST_DIR))
    bias.add_argument("--schema-dir", type=Path, default=Path(interface.BASELINE_SCHEMA_DIR))
    bias.add_argument("--model-dir", type=Path, default=Path(interface.BIAS_MODEL_DIR))
    bias.add_argument("--output-dir", type=Path, default=Path(interface.BIAS_OUTPUT_DIR))
    _bias_flags(bias, facet_required=True)
    check = commands.add_parser(interface.COMMAND_CHECK, help="check served traffic against the baseline")
    for flag in ("--use-case", "--region", "--model-package-group", "--retraining-pipeline", "--report-uri",
                 "--metric-namespace", "--event-source", "--event-detail-type"):
        check.add_argument(flag, required=True)
    check.add_argument("--capture-dir", type=Path, default=Path(interface.CAPTURE_INPUT_DIR))
    check.add_argument("--report-dir", type=Path, default=Path(interface.REPORT_OUTPUT_DIR))
    check.add_argument("--drift-threshold", type=_fraction, required=True)
    check.add_argument("--cooldown-hours", type=_non_negative, required=True)
    check.add_argument("--min-records", type=_non_negative, default=interface.MIN_CAPTURED_RECORDS)
    _bias_flags(check, facet_required=False)
    check.add_argument("--ground-truth-uri", help="s3:// prefix of ground-truth records to join (bias check)")
    return root


def _bias_flags(command: argparse.ArgumentParser, facet_required: bool) -> None:
    command.add_argument("--facet", required=facet_required, help="the column whose groups are compared")
    command.add_argument("--limit", action="append", default=[], metavar="METRIC=VALUE",
                         help=f"a bias limit (repeatable); metrics: {', '.join(interface.BIAS_METRICS)}")


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a share from 0 to 1")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def check_settings(args: argparse.Namespace) -> CheckSettings:
    return CheckSettings(
        use_case=args.use_case, region=args.region, model_package_group=args.model_package_group,
        retraining_pipeline=args.retraining_pipeline, capture_dir=args.capture_dir, report_dir=args.report_dir,
        report_uri=args.report_uri, drift_threshold=args.drift_threshold, cooldown_hours=args.cooldown_hours,
        min_records=args.min_records, metric_namespace=args.metric_namespace, event_source=args.event_source,
        event_detail_type=args.event_detail_type,
        bias=None if args.facet is None else BiasSettings(args.facet, dict(map(parse_limit, args.limit)),
                                                          args.ground_truth_uri))


def run(args: argparse.Namespace) -> str:
    """Runs the command; returns the line it prints."""
    if args.command == interface.COMMAND_BASELINE:
        frame = read_training_features(args.data_dir, args.schema_dir)
        path = write_baseline(build_baseline(frame), args.output_dir)
        return f"baseline of {frame.shape[1]} features over {len(frame)} rows written to {path}"
    if args.command == interface.COMMAND_BIAS_BASELINE:
        gate = run_bias_baseline(BiasBaselineInputs(
            args.train_dir, args.test_dir, args.schema_dir, args.model_dir, args.output_dir, args.facet,
            dict(map(parse_limit, args.limit))))
        return (f"bias and explainability reports written to {args.output_dir}; limits breached: "
                f"{gate['breached']}")
    settings = check_settings(args)
    outcome = run_check(settings, aws.Clients.for_region(settings.region))
    return f"{settings.use_case}: retrain={str(outcome.retrain).lower()}: {outcome.reason}"


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        print(f"{PROGRAM} {args.command}: {run(args)}")
    except MonitoringError as problem:
        print(f"{PROGRAM} {args.command}: error: {problem}", file=sys.stderr)
        return 2
    except ClientError as failure:
        error = failure.response.get("Error", {})
        print(f"{PROGRAM} {args.command}: error: {failure.operation_name} failed: {error.get('Code')}: "
              f"{error.get('Message')}", file=sys.stderr)
        return 1
    except (BotoCoreError, OSError) as failure:
        print(f"{PROGRAM} {args.command}: error: {failure}", file=sys.stderr)
        return 1
    return 0
