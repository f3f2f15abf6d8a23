"""The GitHub workflows (they cannot run here): pull requests preview every stack with the policy pack as its
account's read-only preview role, after credential-free gates for every size; merges deploy every stack but org in
deploy order, each through its GitHub Environment; every action pinned; zizmor finds nothing."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_platform import ci, topology

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
PREVIEW_WORKFLOW = "./.github/workflows/stack-preview.yml"
UP_WORKFLOW = "./.github/workflows/stack-up.yml"
PINNED = re.compile(r"uses: [\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


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
    assert 'mlops-platform preview --size "$SIZE"' in runs(offline)
    assert any(step.get("env") == {"SIZE": "${{ matrix.size }}"} for step in steps(offline))
    assert not any("configure-aws-credentials" in str(step.get("uses")) for job in (jobs["check"], offline)
                   for step in steps(job)), "the gates need no credentials"


def test_pull_requests_preview_every_stack_with_the_policy_pack() -> None:
    preview = workflow("pull-request.yml")["jobs"]["preview"]
    assert preview["uses"] == PREVIEW_WORKFLOW
    assert preview["with"] == {"stack": "${{ matrix.stack }}"}
    assert preview["secrets"] == {"PULUMI_ACCESS_TOKEN": "${{ secrets.PULUMI_ACCESS_TOKEN }}"}
    assert preview["strategy"]["matrix"]["stack"] == list(topology.stack_names(topology.Size.LARGE))
    assert set(preview["needs"]) == {"check", "offline-preview"}
    assert preview["permissions"]["id-token"] == "write"


def _pulumi_steps(name: str, job: str) -> tuple[dict[Any, Any], dict[str, Any], dict[str, Any]]:
    document = workflow(name)
    job_steps = steps(document["jobs"][job])
    credentials = next(step for step in job_steps if str(step.get("uses", "")).startswith(
        "aws-actions/configure-aws-credentials@"))
    pulumi = next(step for step in job_steps if str(step.get("uses", "")).startswith("pulumi/actions@"))
    return document, credentials, pulumi


def test_previews_run_as_the_stacks_read_only_preview_role() -> None:
    document, credentials, pulumi = _pulumi_steps("stack-preview.yml", "preview")
    assert set(document[True]["workflow_call"]["inputs"]) == {"stack"}
    assert credentials["with"]["role-to-assume"] == (
        f"arn:aws:iam::${{{{ fromJSON(vars.AWS_ACCOUNTS)[inputs.stack] }}}}:role/{ci.PREVIEW_ROLE_NAME}")
    assert "aws-access-key-id" not in credentials["with"]
    assert pulumi["with"]["command"] == "preview" and pulumi["with"]["policyPacks"] == "policies"
    assert pulumi["env"][ci.CREDENTIALS_VARIABLE] == ci.PREVIEW_CREDENTIALS
    assert document["jobs"]["preview"]["permissions"]["id-token"] == "write"
    assert "environment" not in document["jobs"]["preview"], "previews reach no environment's deploy role"
    assert "uv sync --locked" in runs(document["jobs"]["preview"]), "the pack's virtualenv (../.venv) exists"


def test_deploys_run_as_their_environments_deploy_role() -> None:
    document, credentials, pulumi = _pulumi_steps("stack-up.yml", "up")
    assert set(document[True]["workflow_call"]["inputs"]) == {"stack", "environment"}
    assert document["jobs"]["up"]["environment"] == "${{ inputs.environment }}"
    assert credentials["with"]["role-to-assume"] == (
        "arn:aws:iam::${{ fromJSON(vars.AWS_ACCOUNTS).cicd }}:role/mlops-ci-deploy-${{ inputs.environment }}")
    assert pulumi["with"]["command"] == "up" and pulumi["with"]["policyPacks"] == "policies"
    assert ci.CREDENTIALS_VARIABLE not in (pulumi.get("env") or {})


def test_merges_deploy_every_stack_but_org_in_deploy_order_through_environments() -> None:
    document = workflow("deploy.yml")
    assert document[True]["push"]["branches"] == ["main"]
    jobs = document["jobs"]
    order = list(ci.deployed_stacks(topology.Size.LARGE))
    assert list(jobs) == order and "org" not in order
    for previous, name in zip([None, *order], order, strict=False):
        job = jobs[name]
        assert job["uses"] == UP_WORKFLOW
        assert job["with"] == {"stack": name, "environment": ci.environment_of_stack(topology.Size.LARGE, name)}
        assert job["secrets"] == {"PULUMI_ACCESS_TOKEN": "${{ secrets.PULUMI_ACCESS_TOKEN }}"}
        assert job.get("needs") == previous
    assert jobs["prod"]["with"]["environment"] == "prod" and jobs["staging"]["with"]["environment"] == "staging"
    assert document["concurrency"]["cancel-in-progress"] is False


def _all_jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [(path.name, name, job) for path in sorted(WORKFLOWS.glob("*.yml"))
            for name, job in workflow(path.name)["jobs"].items()]


def test_every_action_is_pinned_to_a_full_commit_with_its_version_named() -> None:
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for line in path.read_text().splitlines():
            if "uses:" in line and "./.github/" not in line:
                assert PINNED.search(line), f"{path.name}: {line.strip()}"


def test_no_job_inherits_secrets_persists_credentials_or_holds_rights_at_workflow_level() -> None:
    for path in sorted(WORKFLOWS.glob("*.yml")):
        document = workflow(path.name)
        assert document["permissions"] == {}, path.name
        assert "secrets: inherit" not in path.read_text(), path.name
    for file, name, job in _all_jobs():
        assert "permissions" in job, f"{file}:{name} states its permissions"
        for step in steps(job):
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, f"{file}:{name}"
        if job.get("permissions", {}).get("id-token") == "write":
            text = yaml.safe_dump(job)
            assert "configure-aws-credentials" in text or "uses" in job, f"{file}:{name} uses OIDC"


@pytest.mark.parametrize("persona", ["regular", "auditor"])
def test_the_workflows_pass_zizmor_offline_with_no_findings(persona: str) -> None:
    """zizmor (pinned in the dev group) offline, at its default persona and at its strictest (auditor)."""
    zizmor = Path(sys.executable).with_name("zizmor")
    result = subprocess.run([str(zizmor), "--offline", f"--persona={persona}", "--format=json", str(WORKFLOWS)],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == []


def test_every_zizmor_ignore_says_why() -> None:
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for line in path.read_text().splitlines():
            if "zizmor: ignore[" in line:
                reason = line.split("zizmor: ignore[", 1)[1].split("]", 1)[1].strip()
                assert len(reason.split()) >= 4, f"{path.name}: {line.strip()} gives no reason"
