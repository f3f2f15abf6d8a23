"""The offline preview: capture every stack of a size in deploy order, wire StackReferences between them,
and judge each with the policy pack through the analyzer protocol."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from mlops_platform import topology
from mlops_platform.config import ConfigError, PlatformConfig
from mlops_platform.offline import access_matrix
from mlops_platform.offline.access_matrix import AccessMatrix
from mlops_platform.offline.analyzer import PolicyAnalyzer, PolicyInfo, Violation
from mlops_platform.offline.capture import CapturedStack
from mlops_platform.offline.network_paths import NetworkPaths
from mlops_platform.offline.network_paths import check as check_network_paths
from mlops_platform.offline.reachability import Reachability, prove
from mlops_platform.offline.size_capture import PREVIEW_ORGANIZATION, Progress, capture_size, validate_stacks
from mlops_platform.offline.stack_config import ProjectConfig


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
    serving: bool = False
    """Previewed as after the first approval (every served use case serving version 1), not as a new account."""

    @property
    def mandatory_violations(self) -> int:
        return sum(len(stack.mandatory) for stack in self.stacks)

    @property
    def failed(self) -> bool:
        return (self.mandatory_violations > 0 or (self.reachability is not None and not self.reachability.passed)
                or (self.network_paths is not None and not self.network_paths.passed)
                or (self.access is not None and not self.access.passed))


def run_preview(project: ProjectConfig, only_stack: str | None = None, evaluate_policies: bool = True,
                progress: Progress | None = None, serving: bool = False) -> Preview:
    """Preview every stack (or `only_stack` and the stacks it reads from) as `pulumi up` would build them in a new
    account, or — `serving` — once the first version of every served use case is approved.

    The policy pack and the IAM engine are processes of their own, kept busy on the second core: the pack boots
    while the first stack is captured and judges each stack as soon as it is captured, and the engine judges the
    access matrix's flows while the pack finishes."""
    configs = validate_stacks(project)
    wanted = _wanted_stacks(project.size, only_stack)
    config_of = {config.stack.name: config for config in configs}
    previews: dict[str, StackPreview] = {}
    analyzer = (PolicyAnalyzer(project.root / "policies", PREVIEW_ORGANIZATION,
                               shared_policy_config(project)) if evaluate_policies else None)
    with ThreadPoolExecutor(1, "policy-pack") as pack, ThreadPoolExecutor(1, "access-matrix") as engine:
        judged: list[Future[None]] = []

        def on_captured(stack: CapturedStack) -> None:
            if stack.name not in wanted:
                return
            previews[stack.name] = StackPreview(config_of[stack.name], stack)
            if analyzer is not None:
                judged.append(pack.submit(_judge, analyzer, previews[stack.name], progress))

        if analyzer is not None:
            analyzer.start()
        try:
            policies = pack.submit(analyzer.info) if analyzer is not None else None
            last = max(wanted, key=lambda name: topology.deploy_position(project.size, name))
            captured = {stack.name: stack for stack in capture_size(project, progress, serving, through=last,
                                                                    configs=configs, on_captured=on_captured).stacks}
            access: Future[AccessMatrix] | None = None
            if only_stack is None:
                _report(progress, "evaluating the access matrix")
                access = engine.submit(access_matrix.check, configs[0], list(captured.values()))
            for verdicts in judged:
                verdicts.result()
            infos = policies.result() if policies is not None else []
        finally:
            for pending in judged:
                pending.cancel()
            if analyzer is not None:
                analyzer.close()
        matrix = access.result() if access is not None else None
    stacks = list(previews.values())
    network_paths = check_network_paths(configs[0], [stack.captured for stack in stacks])
    reachability = prove(configs[0], list(captured.values()), matrix) if matrix is not None else None
    return Preview(size=project.size, stacks=stacks, policies=infos, reachability=reachability,
                   network_paths=network_paths, access=matrix, serving=serving)


def _judge(analyzer: PolicyAnalyzer, stack: StackPreview, progress: Progress | None) -> None:
    _report(progress, f"evaluating policies on {stack.name}")
    stack.violations = analyzer.analyze(stack.captured)


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


def _report(progress: Progress | None, message: str) -> None:
    if progress is not None:
        progress(message)
