"""`mlops-platform preview`: the credential-free preview of every stack of a size; `diagram` draws its
architecture and `cost` estimates what it costs idle, both from the same capture.

Exit status: 0 when every policy passes, 1 on any mandatory violation, 2 on invalid configuration or flags,
3 when a tool the command needs is missing or the capture itself failed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from mlops_platform.config import ConfigError
from mlops_platform.contract import ContractError
from mlops_platform.offline.access_matrix import MatrixError
from mlops_platform.offline.analyzer import AnalyzerError
from mlops_platform.offline.architecture import architecture
from mlops_platform.offline.capture import CaptureError
from mlops_platform.offline.cost_increment import project_cost
from mlops_platform.offline.cost_report import cost_document, print_cost
from mlops_platform.offline.diagram import DiagramFormat, GraphvizFailed, GraphvizMissing, mermaid, render_image
from mlops_platform.offline.iam_simulate import EngineUnavailable
from mlops_platform.offline.preview import run_preview
from mlops_platform.offline.prices import PriceTableError
from mlops_platform.offline.report import preview_document, print_preview
from mlops_platform.offline.size_capture import CapturedSize, capture_size
from mlops_platform.offline.stack_config import ConfigFileError, load_project_config
from mlops_platform.tiers.serving import ServingStateError

EXIT_VIOLATIONS = 1
EXIT_INVALID_CONFIG = 2
EXIT_INTERNAL = 3

app = typer.Typer(add_completion=False, no_args_is_help=True, help="mlops-platform: the MLOps platform on AWS.")


@app.callback()
def _root() -> None:
    """Keeps `preview` a subcommand."""


def default_project_dir() -> Path:
    cwd = Path.cwd()
    if (cwd / "Pulumi.yaml").exists():
        return cwd
    return Path(__file__).resolve().parent.parent


@app.command()
def preview(
    size: Annotated[str | None, typer.Option(help="small, medium or large (default: the project's size)")] = None,
    stack: Annotated[str | None, typer.Option(help="preview only this stack (tier)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON document on stdout")] = False,
    config: Annotated[Path | None, typer.Option(help="a Pulumi.<stack>.yaml-style file applied to every stack")]
    = None,
    project_dir: Annotated[Path | None, typer.Option(help="folder holding Pulumi.yaml")] = None,
    serving: Annotated[bool, typer.Option(
        "--serving", help="preview as after the first approval (every served use case serving version 1) "
                          "instead of as a new account")] = False,
) -> None:
    """Capture every stack of a size offline, judge it with the policy pack, and report what would be created."""
    err = Console(stderr=True)
    try:
        project = load_project_config(project_dir or default_project_dir(), size, config)
        result = run_preview(project, only_stack=stack, progress=lambda message: err.print(f"[dim]{message}[/dim]"),
                             serving=serving)
    except (ConfigError, ConfigFileError, ContractError) as problem:
        err.print(f"[red]error:[/red] {problem}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_INVALID_CONFIG) from None
    except CaptureError as problem:
        err.print(f"[red]error:[/red] {problem}", highlight=False, soft_wrap=True)
        invalid_input = isinstance(problem.__cause__, ConfigError | ContractError | ServingStateError)
        raise typer.Exit(EXIT_INVALID_CONFIG if invalid_input else EXIT_INTERNAL) from None
    except (AnalyzerError, EngineUnavailable, MatrixError) as problem:
        err.print(f"[red]error:[/red] {problem}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_INTERNAL) from None
    if as_json:
        sys.stdout.write(json.dumps(preview_document(result), indent=2, sort_keys=False) + "\n")
    else:
        print_preview(result, Console())
    if result.failed:
        raise typer.Exit(EXIT_VIOLATIONS)


class UsageError(Exception):
    """Flags that do not fit together."""


@contextmanager
def _one_line_errors(err: Console) -> Iterator[None]:
    """Bad input is one line and exit 2; a missing tool or a failed capture one line and exit 3."""
    try:
        yield
    except (ConfigError, ConfigFileError, ContractError, UsageError, PriceTableError) as problem:
        err.print(f"[red]error:[/red] {problem}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_INVALID_CONFIG) from None
    except CaptureError as problem:
        err.print(f"[red]error:[/red] {problem}", highlight=False, soft_wrap=True)
        invalid_input = isinstance(problem.__cause__, ConfigError | ContractError)
        raise typer.Exit(EXIT_INVALID_CONFIG if invalid_input else EXIT_INTERNAL) from None
    except (GraphvizMissing, GraphvizFailed) as problem:
        err.print(f"[red]error:[/red] {problem}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_INTERNAL) from None


def _captured(err: Console, project_dir: Path | None, size: str | None, config: Path | None) -> CapturedSize:
    project = load_project_config(project_dir or default_project_dir(), size, config)
    return capture_size(project, progress=lambda message: err.print(f"[dim]{message}[/dim]"), serving=True)


@app.command()
def diagram(
    size: Annotated[str | None, typer.Option(help="small, medium or large (default: the project's size)")] = None,
    image_format: Annotated[DiagramFormat, typer.Option("--format", help="mermaid (text), or svg/png (need "
                                                        "Graphviz)")] = DiagramFormat.MERMAID,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write here (default for mermaid: "
                                                "stdout)")] = None,
    config: Annotated[Path | None, typer.Option(help="a Pulumi.<stack>.yaml-style file applied to every stack")]
    = None,
    project_dir: Annotated[Path | None, typer.Option(help="folder holding Pulumi.yaml")] = None,
) -> None:
    """Draw the size's accounts (stacks in small), the components the capture holds and the flows between them."""
    err = Console(stderr=True)
    with _one_line_errors(err):
        if image_format is not DiagramFormat.MERMAID and output is None:
            raise UsageError(f"--format {image_format.value} writes an image file: pass -o FILE")
        if output is not None and not output.parent.is_dir():
            raise UsageError(f"-o {output}: folder {output.parent} does not exist")
        drawing = architecture(_captured(err, project_dir, size, config))
        if output is None:
            sys.stdout.write(mermaid(drawing))
            return
        if image_format is DiagramFormat.MERMAID:
            output.write_text(mermaid(drawing))
        else:
            render_image(drawing, image_format, output)
    err.print(f"wrote {output}", highlight=False)


@app.command()
def cost(
    size: Annotated[str | None, typer.Option(help="small, medium or large (default: the project's size)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON document on stdout")] = False,
    config: Annotated[Path | None, typer.Option(help="a Pulumi.<stack>.yaml-style file applied to every stack")]
    = None,
    project_dir: Annotated[Path | None, typer.Option(help="folder holding Pulumi.yaml")] = None,
) -> None:
    """Estimate what the size costs idle a month, per stack and in total, and what each further use case adds."""
    err = Console(stderr=True)
    with _one_line_errors(err):
        root = project_dir or default_project_dir()
        project = load_project_config(root, size, config)
        estimate = project_cost(project, progress=lambda message: err.print(f"[dim]{message}[/dim]"))
    if as_json:
        sys.stdout.write(json.dumps(cost_document(estimate, root), indent=2) + "\n")
    else:
        print_cost(estimate, Console())


def main() -> None:
    app()
