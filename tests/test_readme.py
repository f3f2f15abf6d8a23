"""The README tells the truth: its policy table, contract table, config keys and exit codes match the code."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from mlops_platform import contract
from mlops_platform.cli import EXIT_INTERNAL, EXIT_INVALID_CONFIG, EXIT_VIOLATIONS, app
from mlops_platform.config import KNOWN_KEYS
from mlops_platform.offline.preview import Preview

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def table_after(heading: str) -> list[list[str]]:
    """Rows of the first Markdown table after `heading`, cells stripped, header and rule rows dropped."""
    section = README.split(heading, 1)[1]
    rows = []
    for line in section.splitlines():
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
        elif rows:
            break
    return rows[2:]


def test_policy_table_is_exactly_the_packs_policies_and_levels(shipped_preview: Callable[..., Preview]) -> None:
    documented: dict[str, str] = {}
    for rule, _what, _hub, _dev in table_after("## The policy pack"):
        documented[rule.strip("`")] = "mandatory"
    pack = {policy.name: policy.level for policy in shipped_preview("small").policies}
    assert documented == pack


def test_contract_table_is_exactly_the_contract() -> None:
    rows = table_after("## Cross-tier contract")
    documented = {row[0]: set(re.findall(r"`(\w+)` \(`(\w+)`\)", row[1])) for row in rows}
    declared = {tier: {(name, contract.export_key(tier, name)) for name in names}
                for tier, names in contract.TIER_EXPORTS.items() if names}
    assert documented == declared


def test_config_reference_lists_every_key() -> None:
    documented = [row[0].strip("`") for row in table_after("## Configuration reference")]
    assert documented == list(KNOWN_KEYS)


def test_documented_exit_codes() -> None:
    assert "**1** at least one mandatory violation, a broken layer" in README and EXIT_VIOLATIONS == 1
    assert "**2** invalid config" in README and EXIT_INVALID_CONFIG == 2
    assert "**3** the pack or the capture itself failed" in README and EXIT_INTERNAL == 3


def test_a_pack_that_cannot_start_exits_3(tmp_path: Path) -> None:
    for name in ("Pulumi.yaml", *(p.name for p in ROOT.glob("Pulumi.*.yaml"))):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "__main__.py").write_text("raise SystemExit('pack is broken')\n")
    result = CliRunner().invoke(app, ["preview", "--project-dir", str(tmp_path)])
    assert result.exit_code == 3
    assert "exited before serving" in result.stderr and "Traceback" not in result.stderr
