"""The GitHub workflows (they cannot run here): pull requests preview every stack with the policy pack and
comment, after credential-free gates for every size; merges deploy every stack in deploy order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mlops_platform import topology

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
STACK_WORKFLOW = "./.github/workflows/stack.yml"


def workflow(name: str) -> dict[Any, Any]:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(document, dict)
    return document


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps") or [])


def runs(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in steps(job))


def test_the_repositorys_stacks_are_the_large_sizes_in_deploy_order() -> None:
    files = {path.name.split(".")[1] for path in ROOT.glob("Pulumi.*.yaml")}
    assert files == set(topology.stack_names(topology.Size.LARGE))


def test_pull_requests_gate_on_the_tests_and_the_offline_preview_of_every_size() -> None:
    jobs = workflow("pull-request.yml")["jobs"]
    assert "bash scripts/check" in runs(jobs["check"])
    offline = jobs["offline-preview"]
    assert offline["strategy"]["matrix"]["size"] == [size.value for size in topology.Size]
    assert "mlops-platform preview --size ${{ matrix.size }}" in runs(offline)
    assert not any("configure-aws-credentials" in str(step.get("uses")) for job in (jobs["check"], offline)
                   for step in steps(job)), "the gates need no credentials"


def test_pull_requests_preview_every_stack_with_the_policy_pack() -> None:
    preview = workflow("pull-request.yml")["jobs"]["preview"]
    assert preview["uses"] == STACK_WORKFLOW
    assert preview["with"] == {"stack": "${{ matrix.stack }}", "command": "preview"}
    assert preview["strategy"]["matrix"]["stack"] == list(topology.stack_names(topology.Size.LARGE))
    assert set(preview["needs"]) == {"check", "offline-preview"}
    assert preview["permissions"]["id-token"] == "write"


def test_the_stack_workflow_assumes_a_role_by_oidc_and_runs_pulumi_with_the_pack() -> None:
    stack = workflow("stack.yml")
    assert set(stack[True]["workflow_call"]["inputs"]) == {"stack", "command"}
    job_steps = steps(stack["jobs"]["pulumi"])
    credentials = next(step for step in job_steps if str(step.get("uses", "")).startswith(
        "aws-actions/configure-aws-credentials@"))
    assert "role-to-assume" in credentials["with"] and "aws-access-key-id" not in credentials["with"]
    pulumi = next(step for step in job_steps if str(step.get("uses", "")).startswith("pulumi/actions@"))
    assert pulumi["with"]["policyPacks"] == "policies"
    assert pulumi["with"]["command"] == "${{ inputs.command }}"
    assert "preview" in pulumi["with"]["comment-on-pr"]
    assert stack["permissions"]["id-token"] == "write"
    assert "uv sync --locked" in runs(stack["jobs"]["pulumi"]), "the pack's virtualenv (../.venv) exists"


def test_merges_deploy_every_stack_in_deploy_order() -> None:
    document = workflow("deploy.yml")
    assert document[True]["push"]["branches"] == ["main"]
    jobs = document["jobs"]
    order = list(topology.stack_names(topology.Size.LARGE))
    assert list(jobs) == order
    for previous, name in zip([None, *order], order, strict=False):
        job = jobs[name]
        assert job["uses"] == STACK_WORKFLOW
        assert job["with"] == {"stack": name, "command": "up"}
        assert job.get("needs") == previous
    assert document["concurrency"]["cancel-in-progress"] is False
