"""Bad input, file by file: each case exits 2 with one line naming the file (and line), the key and the rule,
and never a traceback. The project is the shipped `Pulumi.yaml` with the small size's stack files beside it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlops_platform.cli import app

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = '"111111111111"'


def stack(extra: str = "", account: str = ACCOUNT, size: str = "small", use_cases: str = "[churn]") -> str:
    """A small-size stack file; `extra` lines start at line 6."""
    return (f"config:\n  mlops-platform:size: {size}\n  mlops-platform:accounts:\n    workload: {account}\n"
            f"  mlops-platform:useCases: {use_cases}\n{extra}")


def use_case(fields: str) -> str:
    """A stack file whose one use case has `fields` (a flow map body); the use case is on line 6."""
    return ("config:\n  mlops-platform:size: small\n  mlops-platform:accounts:\n    workload: \"111111111111\"\n"
            f"  mlops-platform:useCases:\n    - {{name: churn, {fields}}}\n")


PROJECT = (ROOT / "Pulumi.yaml").read_text()
PROJECT_HEAD = "name: mlops-platform\nruntime: python\nconfig:\n"
"""A minimal Pulumi.yaml: its config entries start at line 4."""


@dataclass(frozen=True)
class Case:
    files: dict[str, str | bytes]
    fragments: tuple[str, ...]
    args: tuple[str, ...] = ()
    remove: tuple[str, ...] = field(default=())


def dev(content: str | bytes, *fragments: str) -> Case:
    return Case({"Pulumi.dev.yaml": content}, ("Pulumi.dev.yaml", *fragments))


def project(content: str, *fragments: str) -> Case:
    return Case({"Pulumi.yaml": PROJECT_HEAD + content}, ("Pulumi.yaml", *fragments))


def override(content: str | bytes, *fragments: str) -> Case:
    return Case({"override.yaml": content}, ("override.yaml", *fragments), args=("--config", "override.yaml"))


CASES: dict[str, Case] = {
    # How Pulumi (go-yaml v3) reads the text.
    "account-id-unquoted-with-8-or-9-is-a-number": dev(
        stack(account="012345678901"), ":4 (stack dev): mlops-platform:accounts.workload = 012345678901", "quote it"),
    "account-id-unquoted-octal-digits-is-octal": dev(
        stack(account="012345670123"), ":4 (stack dev): mlops-platform:accounts.workload = 012345670123", "quote it"),
    "account-id-unquoted-is-a-number": dev(
        stack(account="111111111111"), "mlops-platform:accounts.workload = 111111111111", "quote it"),
    "account-id-too-short": dev(stack(account='"11111111111"'), "mlops-platform:accounts.workload = 11111111111",
                                "exactly 12 digits"),
    "duplicate-top-level-key": dev(
        stack("  mlops-platform:owner: a\n  mlops-platform:owner: b\n"),
        ":7: mapping key 'mlops-platform:owner' already defined at line 6"),
    "duplicate-nested-key": dev(
        "config:\n  mlops-platform:accounts:\n    workload: \"111111111111\"\n    workload: \"222222222222\"\n",
        ":4: mapping key 'workload' already defined at line 3"),
    "duplicate-config-block": dev("config: {}\nconfig: {}\n", ":2: mapping key 'config' already defined at line 1"),
    "duplicate-use-case-field": dev(use_case("minInstances: 1, minInstances: 2"),
                                    ":6: mapping key 'minInstances' already defined at line 6"),
    "not-valid-yaml": dev("config:\n  mlops-platform:owner: [a\n", "not valid YAML"),
    "tab-indentation": dev("config:\n\tmlops-platform:owner: a\n", ":2: not valid YAML"),
    "unsupported-tag": dev(stack("  mlops-platform:owner: !!binary aGk=\n"), ":6: unsupported tag"),
    "complex-mapping-key": dev(stack("  mlops-platform:features: {[a]: true}\n"),
                               ":6: a mapping key must be a plain string"),
    "features-yes-is-a-string-in-yaml-1.2": dev(
        stack("  mlops-platform:features: {clarify: yes}\n"), ":6 (stack dev): mlops-platform:features.clarify = yes",
        "true or false"),
    "nat-gateway-on-is-a-string-in-yaml-1.2": dev(
        stack("  mlops-platform:studio: {natGateway: on}\n"), ":6 (stack dev): mlops-platform:studio.natGateway = on",
        "true or false"),
    # What a stack file may hold.
    "key-without-namespace": dev(stack("  owner: data-team\n"), ":6: owner: not namespaced",
                                 "`mlops-platform:owner`"),
    "namespace-misspelt": dev(stack("  mlops-platfrom:owner: data-team\n"),
                              ":6: mlops-platfrom:owner: unknown namespace", "did you mean `mlops-platform:owner`"),
    "namespace-in-capitals": dev(stack("  MLOps-Platform:owner: data-team\n"), "did you mean `mlops-platform:owner`"),
    "aws-namespace-misspelt": dev(stack("  asw:region: eu-west-1\n"), ":6: asw:region", "did you mean `aws:region`"),
    "empty-namespace": dev(stack("  :owner: data-team\n"), ":6: :owner: a key is `namespace:name`"),
    "config-block-misspelt": dev("confg:\n  mlops-platform:owner: a\n", ":1: confg: unknown top-level key",
                                 "did you mean 'config'"),
    "stack-file-a-list": dev("- config\n", "must be a YAML map with a `config:` block of `namespace:key: value`"),
    "config-a-list": dev("config:\n  - mlops-platform:owner\n", ":1: config: must be a map of `namespace:key: value`"),
    "secret-value": dev(stack("  mlops-platform:owner: {secure: AAABAC==}\n"), ":6: mlops-platform:owner: a secret"),
    "unknown-platform-key": dev(stack("  mlops-platform:colour: blue\n"), ":6 (stack dev): mlops-platform:colour",
                                "unknown key"),
    # Values the platform or AWS would refuse, located where they are set.
    "region-not-a-region": dev(stack("  mlops-platform:region: mars-north-1\n"),
                               ":6 (stack dev): mlops-platform:region = mars-north-1: not an AWS region"),
    "size-not-a-size": dev(stack(size="huge"), ":2 (stack dev): mlops-platform:size = huge: allowed sizes"),
    "account-the-size-has-not": dev(
        "config:\n  mlops-platform:size: small\n  mlops-platform:accounts:\n    workload: \"111111111111\"\n"
        "    dev: \"222222222222\"\n  mlops-platform:useCases: [churn]\n",
        ":5 (stack dev): mlops-platform:accounts.dev = 222222222222", "size 'small' has no account 'dev'"),
    "accounts-not-a-map": dev(
        "config:\n  mlops-platform:size: small\n  mlops-platform:accounts: \"111111111111\"\n",
        ":3 (stack dev): mlops-platform:accounts = 111111111111", "a map of account name to 12-digit account id"),
    "min-instances-above-max": dev(
        use_case("minInstances: 3, maxInstances: 2"),
        ":6 (stack dev): mlops-platform:useCases[0].minInstances = 3: must not exceed maxInstances (2)"),
    "rate-singular-with-plural-unit": dev(use_case("schedule: rate(1 days)"),
                                          "mlops-platform:useCases[0].schedule = rate(1 days)", "'rate(1 day)'"),
    "rate-plural-with-singular-unit": dev(use_case("schedule: rate(5 day)"),
                                          "mlops-platform:useCases[0].schedule = rate(5 day)", "'rate(5 days)'"),
    "rate-zero": dev(use_case("schedule: rate(0 days)"), "useCases[0].schedule", "at least 1"),
    "rate-unknown-unit": dev(use_case("schedule: rate(2 weeks)"), "useCases[0].schedule", "unknown rate unit 'weeks'"),
    "rate-no-unit": dev(use_case("schedule: rate(5)"), "useCases[0].schedule", "'rate(<value> <unit>)'"),
    "cron-five-fields": dev(use_case('schedule: "cron(0 3 * * MON)"'), "useCases[0].schedule", "six fields"),
    "cron-day-of-month-and-week": dev(use_case('schedule: "cron(0 3 1 * MON *)"'), "useCases[0].schedule",
                                      "exactly one of day-of-month and day-of-week must be '?'"),
    "cron-minute-60": dev(use_case('schedule: "cron(60 3 ? * MON *)"'), "useCases[0].schedule", "cron minutes: '60'"),
    "cron-month-13": dev(use_case('schedule: "cron(0 3 1 13 ? *)"'), "useCases[0].schedule", "cron month: '13'"),
    "cron-question-mark-in-hours": dev(use_case('schedule: "cron(0 ? 1 * ? *)"'), "useCases[0].schedule",
                                       "cron hours: '?' is allowed only"),
    "cron-bad-day-name": dev(use_case('schedule: "cron(0 3 ? * FUNDAY *)"'), "useCases[0].schedule",
                             "cron day-of-week: 'FUNDAY'"),
    "at-not-a-date": dev(use_case("schedule: at(2030-02-30T03:00:00)"), "useCases[0].schedule",
                         "a real date and time"),
    "schedule-in-words": dev(use_case("schedule: every week"), "useCases[0].schedule = every week",
                             "not a schedule expression"),
    "owner-refused-tag-character": dev(stack("  mlops-platform:owner: data#team\n"),
                                       ":6 (stack dev): mlops-platform:owner = data#team", "not '#'"),
    "owner-longer-than-a-tag-value": dev(stack(f"  mlops-platform:owner: {'o' * 257}\n"),
                                         "mlops-platform:owner", "at most 256 characters"),
    "owner-empty": dev(stack("  mlops-platform:owner: \"\"\n"), "mlops-platform:owner", "a non-empty string"),
    "studio-users-differing-in-case": dev(
        stack("  mlops-platform:dataScientists: [alice, Alice]\n"),
        ":6 (stack dev): mlops-platform:dataScientists[1] = Alice", "ignoring case"),
    "studio-user-twice": dev(stack("  mlops-platform:dataScientists: [bob, bob]\n"), "dataScientists[1]",
                             "duplicated"),
    "studio-user-not-a-name": dev(stack("  mlops-platform:dataScientists: [bob smith]\n"), "dataScientists[0]",
                                  "a Studio user name"),
    "use-case-name-twice": dev(stack(use_cases="[churn, churn]"), ":5 (stack dev): mlops-platform:useCases[1].name",
                               "must be unique"),
    "use-case-name-upper-case": dev(use_case("instanceType: ml.m5.large").replace("name: churn", "name: Churn"),
                                    "useCases[0].name = Churn", "in lower case"),
    "instance-type-unknown": dev(use_case("instanceType: m5.large"), "useCases[0].instanceType = m5.large",
                                 "not a SageMaker endpoint instance type"),
    "metric-threshold-above-1": dev(use_case("metricThreshold: 1.5"), "useCases[0].metricThreshold = 1.5",
                                    "a number from 0 to 1"),
    "canary-percent-above-50": dev(use_case("canaryPercent: 60"), "useCases[0].canaryPercent = 60", "1 to 50"),
    "unknown-use-case-field": dev(use_case("gpu: true"), "useCases[0].gpu", "unknown field"),
    "unknown-feature-flag": dev(stack("  mlops-platform:features: {gpu: true}\n"), ":6 (stack dev)",
                                "mlops-platform:features.gpu", "unknown feature flag"),
    "public-vpc-cidr": dev(stack("  mlops-platform:studio: {vpcCidr: 8.8.0.0/16}\n"),
                           "mlops-platform:studio.vpcCidr = 8.8.0.0/16", "a private IPv4 CIDR block"),
    "unknown-code-provider": dev(stack("  mlops-platform:codeRepository: {provider: SVN}\n"),
                                 "mlops-platform:codeRepository.provider = SVN", "one of: GitHub"),
    "deploy-role-with-a-space": dev(stack("  mlops-platform:deployRoleName: deploy role\n"),
                                    "mlops-platform:deployRoleName = deploy role", "an IAM role name"),
    "allowed-regions-without-the-region": dev(
        stack("  mlops-platform:organization: {allowedRegions: [us-east-1]}\n"),
        "mlops-platform:organization.allowedRegions", "must include the platform's region eu-west-1"),
    "use-cases-a-scalar": dev(stack(use_cases="churn"), ":5 (stack dev): mlops-platform:useCases = churn",
                              "a list of use cases"),
    "non-utf8-stack-file": dev(b"config:\n  mlops-platform:owner: caf\xe9\n",
                               "stack file is not UTF-8 text (byte 0xe9 at offset 35)"),
    # Project-level config in Pulumi.yaml.
    "project-map-without-value": project(
        "  mlops-platform:accounts:\n    workload: \"111111111111\"\n",
        ":5: mlops-platform:accounts: a map must be wrapped in `value:`", "'workload'"),
    "project-value-and-default": project(
        "  mlops-platform:owner:\n    value: a\n    default: b\n",
        ":4: mlops-platform:owner: `value` and `default` together"),
    "project-type-without-value-is-missing": project(
        "  mlops-platform:owner: {type: string}\n",
        "Pulumi.dev.yaml (stack dev): mlops-platform:owner: missing: Pulumi.yaml declares it (type: string)"),
    "project-unknown-type": project("  mlops-platform:owner: {type: number, default: 3}\n",
                                    ":4: mlops-platform:owner: type number: one of string, integer, boolean, array"),
    "project-default-of-another-type": project(
        "  mlops-platform:owner: {type: boolean, default: platform-team}\n",
        ":4: mlops-platform:owner = platform-team: not of the declared type boolean"),
    "project-null-value": project("  mlops-platform:owner:\n", ":4: mlops-platform:owner: no value"),
    "project-duplicate-key": project("  owner: a\n  owner: b\n", ":5: mapping key 'owner' already defined at line 4"),
    "project-other-namespace-with-type": project(
        "  aws:region: {type: string, default: eu-west-1}\n", ":4: aws:region: only the project's own keys"),
    "project-namespace-misspelt": project("  mlops-platfrom:region: eu-west-1\n",
                                          ":4: mlops-platfrom:region", "did you mean `mlops-platform:region`"),
    "project-value-located-in-pulumi-yaml": project(
        "  region: mars-north-1\n", "Pulumi.yaml:4 (stack dev): mlops-platform:region = mars-north-1",
        "not an AWS region"),
    "project-misnamed": Case({"Pulumi.yaml": "name: ml-platform\nruntime: python\n"},
                             ("Pulumi.yaml:1", "name = ml-platform", "must be named 'mlops-platform'")),
    # The --config file.
    "override-without-config-block": override("mlops-platform:owner: a\n", ":1: mlops-platform:owner: unknown "
                                              "top-level key"),
    "override-config-misspelt": override("configs:\n  mlops-platform:owner: a\n", ":1: configs: unknown top-level key",
                                         "did you mean 'config'"),
    "override-that-sets-nothing": override("config: {}\n", "config: sets nothing"),
    "override-with-empty-config": override("config:\n", "config: sets nothing"),
    "override-empty-file": override("", "must be a YAML map with a `config:` block"),
    "override-non-utf8": override(b"config:\n  mlops-platform:owner: caf\xe9\n", "not UTF-8 text (byte 0xe9"),
    "override-duplicate-key": override("config:\n  mlops-platform:owner: a\n  mlops-platform:owner: b\n",
                                       ":3: mapping key 'mlops-platform:owner' already defined at line 2"),
    "override-value-located": override("config:\n  mlops-platform:dataScientists: [alice, ALICE]\n",
                                       ":2 (stack dev): mlops-platform:dataScientists[1] = ALICE", "ignoring case"),
    # Which stack files there are.
    "stack-file-not-a-tier": Case({"Pulumi.qa.yaml": stack()}, ("Pulumi.qa.yaml", "stack 'qa' is not a tier")),
    "stack-file-missing": Case({}, ("Pulumi.prod.yaml", "missing: size 'small' needs a stack file", "init --size"),
                               remove=("Pulumi.prod.yaml",)),
    "stack-file-the-size-has-not": Case({"Pulumi.org.yaml": stack()},
                                        ("Pulumi.org.yaml", "size 'small' has no stack 'org'")),
    "stacks-disagree-on-size": Case({"Pulumi.org.yaml": "config: {}\n"},
                                    ("disagree on mlops-platform:size", "Pulumi.dev.yaml small",
                                     "Pulumi.prod.yaml small", "Pulumi.org.yaml large (from Pulumi.yaml)")),
    "no-stack-files": Case({}, ("no stack files (Pulumi.<stack>.yaml)", "mlops-platform init"),
                           remove=("Pulumi.dev.yaml", "Pulumi.prod.yaml")),
    "size-flag-without-samples": Case({}, ("examples/medium", "sample stack files of size 'medium' not found"),
                                      args=("--size", "medium")),
    "size-flag-not-a-size": Case({}, ("--size tiny", "allowed sizes are"), args=("--size", "tiny")),
    "stack-flag-not-in-the-size": Case({}, ("mlops-platform:stack (--stack) = 'ops'", "has stacks: dev, prod"),
                                       args=("--stack", "ops")),
    "override-is-a-directory": Case({"override.yaml/keep": ""}, ("override.yaml", "is a directory, not a file"),
                                    args=("--config", "override.yaml")),
    "override-not-found": Case({}, ("missing.yaml", "not found"), args=("--config", "missing.yaml")),
    "no-project-file": Case({}, ("Pulumi.yaml not found",), remove=("Pulumi.yaml",)),
}


def small_project(folder: Path) -> Path:
    """The shipped Pulumi.yaml with the small size's stack files (as `mlops-platform init --size small` writes)."""
    (folder / "Pulumi.yaml").write_text(PROJECT)
    for name in ("Pulumi.dev.yaml", "Pulumi.prod.yaml"):
        (folder / name).write_text(stack())
    return folder


def apply(folder: Path, case: Case) -> None:
    for name in case.remove:
        (folder / name).unlink()
    for name, content in case.files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def test_the_table_holds_at_least_sixty_bad_inputs() -> None:
    assert len(CASES) >= 60


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_input_exits_2_with_one_line_naming_file_key_and_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   case: Case) -> None:
    apply(small_project(tmp_path), case)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["preview", "--project-dir", str(tmp_path), *case.args])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in case.fragments:
        assert fragment in lines[0]
    assert "Traceback" not in result.output and result.stdout == ""


def test_the_small_project_itself_is_valid(tmp_path: Path) -> None:
    from mlops_platform.offline.size_capture import validate_stacks
    from mlops_platform.offline.stack_config import load_project_config

    project = load_project_config(small_project(tmp_path))
    configs = validate_stacks(project)
    assert [config.stack.name for config in configs] == ["dev", "prod"]
    assert project.platform_values("dev")["useCases"] == ["churn"], "a stack's value replaces the project's whole"
    assert project.origin("dev", "mlops-platform:useCases") == project.stack_sources["dev"]
    assert project.origin("dev", "mlops-platform:dataScientists") == project.project


def test_an_unreadable_file_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    small_project(tmp_path)
    override_file = tmp_path / "override.yaml"
    override_file.write_text("config:\n  mlops-platform:owner: a\n")
    real_read_bytes = Path.read_bytes

    def refuse(path: Path) -> bytes:
        if path.name == "override.yaml":  # root reads every file, so the refusal is what the OS would say
            raise PermissionError(13, "Permission denied", str(path))
        return real_read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    result = CliRunner().invoke(app, ["preview", "--project-dir", str(tmp_path), "--config", str(override_file)])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [f"error: {override_file}: --config file cannot be read: "
                                                  "permission denied"]


def test_a_missing_examples_folder_is_one_line_also_for_init(tmp_path: Path) -> None:
    small_project(tmp_path)
    result = CliRunner().invoke(app, ["init", "--size", "medium", "--project-dir", str(tmp_path)])
    assert result.exit_code == 2
    line, = result.stderr.strip().splitlines()
    assert "examples/medium" in line and "sample stack files of size 'medium'" in line
