"""The offline preview: capture every stack of a size in deploy order, wire StackReferences between them,
and judge each with the policy pack through the analyzer protocol."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from mlops_platform import topology
from mlops_platform.config import ConfigError, PlatformConfig, parse_config
from mlops_platform.offline import access_matrix
from mlops_platform.offline.access_matrix import AccessMatrix
from mlops_platform.offline.analyzer import PolicyAnalyzer, PolicyInfo, Violation
from mlops_platform.offline.capture import CapturedStack, capture_stack
from mlops_platform.offline.network_paths import NetworkPaths
from mlops_platform.offline.network_paths import check as check_network_paths
from mlops_platform.offline.reachability import Reachability, prove
from mlops_platform.offline.stack_config import ProjectConfig
from mlops_platform.program import build_stack

PREVIEW_ORGANIZATION = "organization"

Progress = Callable[[str], None]


@dataclass
class StackPreview:
    config: PlatformConfig
    captured: CapturedStack
    violations: list[Violation] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.config.stack.name

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == "mandatory"]


@dataclass
class Preview:
    size: topology.Size
    stacks: list[StackPreview]
    policies: list[PolicyInfo]
    reachability: Reachability | None = None
    """The separation proof; None when only some stacks were previewed (`--stack`)."""
    network_paths: NetworkPaths | None = None
    """Every VPC workload's required paths, over the previewed stacks."""
    access: AccessMatrix | None = None
    """The access matrix: every designed flow judged by the IAM engine; None with `--stack`."""

    @property
    def mandatory_violations(self) -> int:
        return sum(len(stack.mandatory) for stack in self.stacks)

    @property
    def failed(self) -> bool:
        return (self.mandatory_violations > 0 or (self.reachability is not None and not self.reachability.passed)
                or (self.network_paths is not None and not self.network_paths.passed)
                or (self.access is not None and not self.access.passed))


def validate_stacks(project: ProjectConfig) -> list[PlatformConfig]:
    """Every stack's config, validated before anything is captured. The first problem raises ConfigFileError
    naming the file and line that set the value, the stack, the key and the rule."""
    return [_validated(project, spec.name) for spec in topology.stacks(project.size)]


def _validated(project: ProjectConfig, stack: str) -> PlatformConfig:
    try:
        return parse_config(project.platform_values(stack), stack, PREVIEW_ORGANIZATION)
    except ConfigError as error:
        raise project.located(stack, error) from None


def run_preview(project: ProjectConfig, only_stack: str | None = None, evaluate_policies: bool = True,
                progress: Progress | None = None) -> Preview:
    configs = validate_stacks(project)
    wanted = _wanted_stacks(project.size, only_stack)
    analyzer = (PolicyAnalyzer(project.root / "policies", PREVIEW_ORGANIZATION,
                               shared_policy_config(project)) if evaluate_policies else None)
    if analyzer is not None:
        analyzer.start()  # boots while the stacks are captured
    try:
        captured = _capture_all(project, configs, wanted, progress)
        previews = [StackPreview(config, captured[config.stack.name])
                    for config in configs if config.stack.name in wanted]
        policies: list[PolicyInfo] = []
        if analyzer is not None:
            policies = analyzer.info()
            for stack in previews:
                _report(progress, f"evaluating policies on {stack.name}")
                stack.violations = analyzer.analyze(stack.captured)
    finally:
        if analyzer is not None:
            analyzer.close()
    reachability = prove(configs[0], list(captured.values())) if only_stack is None else None
    network_paths = check_network_paths(configs[0], [stack.captured for stack in previews])
    access = None
    if only_stack is None:
        _report(progress, "evaluating the access matrix")
        access = access_matrix.check(configs[0], list(captured.values()))
    return Preview(size=project.size, stacks=previews, policies=policies, reachability=reachability,
                   network_paths=network_paths, access=access)


def shared_policy_config(project: ProjectConfig) -> dict[str, str]:
    """The configuration every stack of the size shares (size, region, accounts): what the pack may read from
    PULUMI_CONFIG. Keys that differ between stacks are left out, since one pack process serves them all."""
    per_stack = [project.runtime_config(spec.name) for spec in topology.stacks(project.size)]
    return {key: value for key, value in per_stack[0].items() if all(c.get(key) == value for c in per_stack)}


def _wanted_stacks(size: topology.Size, only_stack: str | None) -> set[str]:
    names = topology.stack_names(size)
    if only_stack is None:
        return set(names)
    if only_stack not in names:
        raise ConfigError("stack (--stack)", only_stack,
                          f"size {size.value!r} has stacks: {', '.join(names)}")
    return {only_stack}


def _capture_all(project: ProjectConfig, configs: list[PlatformConfig], wanted: set[str],
                 progress: Progress | None) -> dict[str, CapturedStack]:
    """Capture stacks in deploy order, up to the last wanted one: later stacks read earlier ones' outputs."""
    last = max(topology.deploy_position(project.size, name) for name in wanted)
    captured: dict[str, CapturedStack] = {}
    for config in configs[: last + 1]:
        name = config.stack.name
        _report(progress, f"capturing stack {name}")
        captured[name] = capture_stack(
            build_stack, stack=name, config=project.runtime_config(name),
            stack_outputs={stack: c.outputs for stack, c in captured.items()},
            default_region=config.region, organization=PREVIEW_ORGANIZATION)
    return captured


def _report(progress: Progress | None, message: str) -> None:
    if progress is not None:
        progress(message)
