"""`mlops-platform diagram`: the architecture drawn from the captured stacks — boxes per account (per stack in
small), the components the capture holds, and each designed flow only where both its ends exist."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mlops_platform import topology
from mlops_platform.cli import EXIT_INTERNAL, EXIT_INVALID_CONFIG, app
from mlops_platform.offline import architecture as arch
from mlops_platform.offline import readme_figures
from mlops_platform.offline.architecture import architecture
from mlops_platform.offline.capture import CapturedResource, CapturedStack
from mlops_platform.offline.diagram import DiagramFormat, GraphvizMissing, mermaid, render_image
from mlops_platform.offline.size_capture import CapturedSize

ROOT = Path(__file__).resolve().parents[2]

_SUBGRAPH = re.compile(r'  subgraph (\w+)\["([^"]*)"\]')
_NODE = re.compile(r'    (\w+)\["([^"]*)"\]')
_EDGE = re.compile(r'  (\w+) -->\|"([^"]*)"\| (\w+)')


@dataclass
class Flowchart:
    boxes: dict[str, str] = field(default_factory=dict)
    """subgraph id -> label"""
    nodes: dict[str, tuple[str, str]] = field(default_factory=dict)
    """node id -> (subgraph id, label)"""
    edges: list[tuple[str, str, str]] = field(default_factory=list)
    """(source id, label, target id)"""

    def kinds_in(self, box_label_start: str) -> set[str]:
        box = next(key for key, label in self.boxes.items() if label.startswith(box_label_start))
        return {node.split("__", 1)[1] for node, (parent, _) in self.nodes.items() if parent == box}

    def edge_labels(self) -> set[str]:
        return {label for _, label, _ in self.edges}

    def edge(self, source_kind: str, target_kind: str) -> list[tuple[str, str, str]]:
        return [e for e in self.edges if e[0].endswith(f"__{source_kind}") and e[2].endswith(f"__{target_kind}")]


def parse(text: str) -> Flowchart:
    """A strict reading of the Mermaid the diagram writes: every line is a header, subgraph, node, end or edge;
    subgraphs do not nest and are closed; node ids are unique; edges join declared nodes."""
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    chart, open_box = Flowchart(), None
    for line in lines[1:]:
        if (match := _SUBGRAPH.fullmatch(line)) is not None:
            assert open_box is None, f"nested subgraph: {line}"
            open_box = match.group(1)
            assert open_box not in chart.boxes
            chart.boxes[open_box] = match.group(2)
        elif line == "  end":
            assert open_box is not None, "end without subgraph"
            open_box = None
        elif (match := _NODE.fullmatch(line)) is not None:
            assert open_box is not None, f"node outside a subgraph: {line}"
            assert match.group(1) not in chart.nodes, f"duplicate node {match.group(1)}"
            chart.nodes[match.group(1)] = (open_box, match.group(2))
        elif (match := _EDGE.fullmatch(line)) is not None:
            assert {match.group(1), match.group(3)} <= set(chart.nodes), f"edge to an undeclared node: {line}"
            chart.edges.append((match.group(1), match.group(2), match.group(3)))
        else:
            raise AssertionError(f"not a line of the expected Mermaid shape: {line!r}")
    assert open_box is None, "unclosed subgraph"
    return chart


def chart_of(size: CapturedSize) -> Flowchart:
    return parse(mermaid(architecture(size)))


def test_small_draws_its_two_stacks_and_the_deploy_on_approval_path(
        shipped_capture: Callable[[str], CapturedSize]) -> None:
    chart = chart_of(shipped_capture("small"))
    assert list(chart.boxes.values()) == ["dev stack · account 111111111111", "prod stack · account 111111111111"]
    assert chart.kinds_in("dev stack") == {"datasets", "code", "ecr", "registry", "studio", "pipeline"}
    assert chart.kinds_in("prod stack") == {"deployer", "api", "endpoint"}
    assert chart.edge("registry", "deployer")[0][1] == arch.APPROVE_DEPLOY
    assert chart.edge("deployer", "endpoint") and chart.edge("api", "endpoint")
    assert chart.edge("pipeline", "registry") and chart.edge("studio", "pipeline")
    absent = {"promotion", "build", "datalake", "featurestore", "monitoring", "replication"}
    assert not absent & {node.split("__")[1] for node in chart.nodes}
    assert not {"deploy to staging", "gate → prod (canary)", "capture", "drift → retrain", "push image"} & \
        chart.edge_labels()


def test_medium_draws_its_four_accounts_and_the_approval_to_promotion_flow(
        shipped_capture: Callable[[str], CapturedSize]) -> None:
    chart = chart_of(shipped_capture("medium"))
    assert [label.split(" ·")[0] for label in chart.boxes.values()] == [
        "management account", "dev account", "staging account", "prod account"]
    assert "dev account · 666666666666 · stack dev" in chart.boxes.values()
    assert chart.kinds_in("management account") == {"organization", "identity", "trail"}
    assert chart.kinds_in("staging account") == chart.kinds_in("prod account") == {"api", "endpoint", "replication"}
    # No approval deployer in medium: an approval starts the promotion pipeline of the cicd tier (dev account).
    assert "registry" in chart.kinds_in("dev account")
    assert not chart.edge("registry", "deployer")
    assert chart.edge("registry", "promotion") == [("account_dev__registry", "approve → deploy",
                                                    "account_dev__promotion")]


def test_large_draws_one_box_per_account_and_the_cross_account_retraining_flow(
        shipped_capture: Callable[[str], CapturedSize]) -> None:
    chart = chart_of(shipped_capture("large"))
    assert [label.split(" account")[0] for label in chart.boxes.values()] == list(topology.accounts(
        topology.Size.LARGE))
    assert chart.kinds_in("ops account") == {"pipeline"}
    # the shipped large stacks switch the feature store on (one churn group)
    assert chart.kinds_in("artifact account") == {"ecr", "registry", "featurestore"}
    assert chart.kinds_in("data account") == {"datasets", "datalake"}, "the lake is drawn where it lives, not at links"
    assert chart.edge("pipeline", "registry") == [("account_ops__pipeline", "register (pending approval)",
                                                   "account_artifact__registry")]
    assert chart.edge("studio", "pipeline") == [("account_dev__studio", "start retraining", "account_ops__pipeline")]
    assert not chart.edge("registry", "deployer")
    assert chart.edge("registry", "promotion") == [("account_artifact__registry", "approve → deploy",
                                                    "account_cicd__promotion")]


def _resource(stack: CapturedStack, type_token: str, name: str, tier: str, inputs: dict[str, Any] | None = None
              ) -> CapturedResource:
    """A resource as the capture would hold it under `tier`, deployed by that tier's provider in the stack."""
    provider = next(r.provider for r in stack.resources if arch.tier_of(r.urn) == tier and r.provider)
    return CapturedResource(
        urn=f"urn:pulumi:{stack.name}::mlops-platform::mlops:tier:{tier.title()}${type_token}::{name}", id=name,
        type=type_token, name=name, custom=True, parent="", provider=provider, protect=False, ignore_changes=(),
        dependencies=(), property_dependencies={}, inputs=inputs or {}, outputs={})


def _with(size: CapturedSize, additions: dict[str, list[tuple[str, str, str]]]) -> CapturedSize:
    """The size with resources added to stacks: stack -> [(type, name, tier)]."""
    stacks = []
    for stack in size.stacks:
        extra = [_resource(stack, t, n, tier) for t, n, tier in additions.get(stack.name, [])]
        stacks.append(replace(stack, resources=[*stack.resources, *extra]))
    return replace(size, stacks=tuple(stacks))


def test_components_other_work_will_add_appear_with_their_flows_from_their_types_alone(
        shipped_capture: Callable[[str], CapturedSize]) -> None:
    """The medium size as it will be once CodePipeline promotion, container builds, the data lake, Feature Store,
    replication and monitoring exist: the diagram code recognises them from the table and draws every flow."""
    grown = _with(shipped_capture("medium"), {
        "dev": [("aws:codepipeline/pipeline:Pipeline", "cicd-churn-promotion", "cicd"),
                ("aws:codebuild/project:Project", "cicd-churn-image-build", "cicd"),
                ("aws:lakeformation/resource:Resource", "data-lake", "data"),
                ("aws:sagemaker/featureGroup:FeatureGroup", "artifact-churn-features", "artifact"),
                ("aws:sagemaker/monitoringSchedule:MonitoringSchedule", "ops-churn-drift", "ops")],
        "prod": [("aws:s3/bucketReplicationConfig:BucketReplicationConfig", "prod-capture-to-dev", "prod")],
    })
    drawing = architecture(grown)
    assert drawing.flows() >= {arch.APPROVE_DEPLOY, arch.STAGING_GATE_PROD, arch.CAPTURE_RETRAIN,
                               arch.DATA_LAKE_PIPELINE, arch.IMAGE_BUILD_ECR}
    chart = parse(mermaid(drawing))
    assert chart.edge("registry", "promotion")[0][1] == "approve → deploy"
    assert {(s, label, t) for s, label, t in chart.edge("promotion", "endpoint")} == {
        ("account_dev__promotion", "deploy to staging", "account_staging__endpoint"),
        ("account_dev__promotion", "gate → prod (canary)", "account_prod__endpoint")}
    assert sorted(chart.edge("endpoint", "replication")) == [
        ("account_prod__endpoint", "capture", "account_prod__replication"),
        ("account_staging__endpoint", "capture", "account_staging__replication")], "both serving tiers replicate"
    assert chart.edge("replication", "monitoring") and chart.edge("monitoring", "pipeline")
    assert chart.edge("datalake", "pipeline") and chart.edge("build", "ecr") and chart.edge("featurestore", "pipeline")


def test_without_endpoints_the_api_and_deployer_stay_and_their_arrows_to_the_endpoint_go(
        shipped_capture: Callable[[str], CapturedSize]) -> None:
    """Serving deploys endpoints only after the first approval: a fresh capture holds the API and the deployer."""
    size = shipped_capture("small")
    fresh = replace(size, stacks=tuple(
        replace(stack, resources=[r for r in stack.resources if r.type != "aws:sagemaker/endpoint:Endpoint"])
        for stack in size.stacks))
    chart = chart_of(fresh)
    assert chart.kinds_in("prod stack") == {"deployer", "api"}
    assert chart.edge("registry", "deployer"), "approval still reaches the deployer"
    assert not chart.edge("deployer", "endpoint") and not chart.edge("api", "endpoint")


def test_labels_stay_valid_mermaid_and_long_lists_are_cut(shipped_capture: Callable[[str], CapturedSize]) -> None:
    chart = chart_of(shipped_capture("large"))
    _, scps = chart.nodes["account_management__organization"]
    assert scps.startswith("Organizations + SCPs<br/>") and scps.endswith("+2 more")
    drawing = architecture(shipped_capture("small"))
    component = drawing.components[0]
    component.names.append('a "quoted" name')
    assert '#quot;quoted#quot;' in mermaid(drawing)


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, ["diagram", "--project-dir", str(ROOT), *args])


def test_cli_prints_mermaid_by_default_and_writes_a_file_with_o(tmp_path: Path) -> None:
    result = invoke("--size", "small")
    assert result.exit_code == 0, result.output
    assert parse(result.stdout).boxes
    target = tmp_path / "small.mmd"
    written = invoke("--size", "small", "-o", str(target))
    assert written.exit_code == 0 and target.read_text() == result.stdout


def test_cli_image_without_graphviz_is_one_line_naming_what_to_install(monkeypatch: pytest.MonkeyPatch,
                                                                       tmp_path: Path) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    result = invoke("--size", "small", "--format", "svg", "-o", str(tmp_path / "small.svg"))
    assert result.exit_code == EXIT_INTERNAL
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("error: Graphviz's `dot` is not on PATH: install Graphviz") and "Traceback" not in \
        result.output
    assert not (tmp_path / "small.svg").exists()


def test_cli_bad_input_is_one_line_and_exit_2() -> None:
    no_file = invoke("--size", "small", "--format", "png")
    assert no_file.exit_code == EXIT_INVALID_CONFIG
    assert no_file.stderr.strip() == "error: --format png writes an image file: pass -o FILE"
    bad_size = invoke("--size", "huge")
    assert bad_size.exit_code == EXIT_INVALID_CONFIG and "Traceback" not in bad_size.output
    assert bad_size.stderr.strip().splitlines()[-1] == "error: --size huge: allowed sizes are: small, medium, large"
    bad_format = invoke("--format", "gif")
    assert bad_format.exit_code == EXIT_INVALID_CONFIG


def test_cli_output_into_a_missing_folder_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = invoke("--size", "small", "-o", str(tmp_path / "missing" / "small.mmd"))
    assert result.exit_code == EXIT_INVALID_CONFIG
    assert result.stderr.strip() == f"error: -o {tmp_path / 'missing' / 'small.mmd'}: folder {tmp_path / 'missing'} " \
        "does not exist"


def test_cli_graphviz_that_fails_is_one_line_and_exit_3(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "bin" / "dot"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'dot: out of cheese' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    result = invoke("--size", "small", "--format", "png", "-o", str(tmp_path / "small.png"))
    assert result.exit_code == EXIT_INTERNAL, result.output
    assert "Traceback" not in result.output
    assert result.stderr.strip().splitlines()[-1] == \
        f"error: Graphviz's {fake} could not draw the diagram: dot: out of cheese"


def test_render_image_raises_graphviz_missing_before_drawing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                              shipped_capture: Callable[[str], CapturedSize]) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(GraphvizMissing, match="install Graphviz"):
        render_image(architecture(shipped_capture("small")), DiagramFormat.PNG, tmp_path / "x.png")


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot (apt-get install graphviz)")
def test_svg_with_aws_icons_stands_alone(tmp_path: Path, shipped_capture: Callable[[str], CapturedSize]) -> None:
    target = tmp_path / "large.svg"
    render_image(architecture(shipped_capture("large")), DiagramFormat.SVG, target)
    svg = target.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "ops account · 555555555555 · stack ops" in svg and "register (pending approval)" in svg
    icons = re.findall(r'xlink:href="([^"]*)"', svg)
    assert icons and all(icon.startswith("data:image/png;base64,") for icon in icons), "icons embedded, no paths"


def test_readme_shows_the_current_diagrams_and_costs_of_the_three_sizes(
        shipped_capture: Callable[[str], CapturedSize]) -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme_figures.generated_block(ROOT, shipped_capture)
    assert block in readme, f"README's generated diagrams and costs are stale: run `{readme_figures.COMMAND}`"
    charts = [parse(text + "\n") for text in re.findall(r"```mermaid\n(.*?)\n```", block, re.DOTALL)]
    assert [len(chart.boxes) for chart in charts] == [2, 4, 8]
    assert "| small | dev 266.56, prod 188.18 | **454.74** |" in block


def test_the_generated_block_is_replaced_between_its_markers_only() -> None:
    text = f"intro\n{readme_figures.BEGIN}\nold\n{readme_figures.END}\noutro\n"
    assert readme_figures.replace_block(text, f"{readme_figures.BEGIN}\nnew\n{readme_figures.END}") == \
        f"intro\n{readme_figures.BEGIN}\nnew\n{readme_figures.END}\noutro\n"
    with pytest.raises(ValueError, match="no generated block"):
        readme_figures.replace_block("no markers", "x")
