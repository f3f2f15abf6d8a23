"""`mlops-platform preview`: the credential-free preview of every stack of a size; `init` writes the stack files
of a size; `diagram` draws its architecture and `cost` estimates what it costs idle, both from the same capture.

No traceback ever reaches a user: every failure is one line on stderr and an exit status (EXIT_STATUS_HELP).
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
from rich.markup import escape

from mlops_platform.config import ConfigError
from mlops_platform.contract import ContractError
from mlops_platform.entry import EXIT_INTERRUPTED
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
from mlops_platform.offline.stack_init import init_stack_files, parse_accounts
from mlops_platform.tiers.serving import ServingStateError
from mlops_platform.topology import Size

EXIT_OK = 0
EXIT_VIOLATIONS = 1
EXIT_INVALID_CONFIG = 2
EXIT_INTERNAL = 3

EXIT_STATUS_HELP = (
    "Exit status: 0 every check passed; 1 a mandatory policy violation or a broken proof (separation, network "
    "paths, access matrix); 2 invalid input (a config file, a flag, a missing or unreadable file); 3 the tool "
    "itself failed (policy pack, IAM engine); 130 interrupted (Ctrl-C); 143 terminated (SIGTERM). Every "
    "failure is one line on stderr."
)

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help=f"mlops-platform: the MLOps platform on AWS.\n\n{EXIT_STATUS_HELP}")


SizeOption = Annotated[str | None, typer.Option("--size", help="small, medium or large (default: the project's size)")]
JsonOption = Annotated[bool, typer.Option("--json", help="print one JSON document on stdout")]
ConfigFileOption = Annotated[Path | None, typer.Option(
    "--config", help="a Pulumi.<stack>.yaml-style file applied to every stack")]
ProjectDirOption = Annotated[Path | None, typer.Option("--project-dir", help="folder holding Pulumi.yaml")]
"""The options the commands share, declared once."""


@app.callback()
def _root() -> None:
    """Keeps `preview` a subcommand."""


def default_project_dir() -> Path:
    cwd = Path.cwd()
    if (cwd / "Pulumi.yaml").exists():
        return cwd
    return Path(__file__).resolve().parent.parent


@app.command(epilog=EXIT_STATUS_HELP)
def preview(
    size: SizeOption = None,
    stack: Annotated[str | None, typer.Option(help="preview only this stack (tier)")] = None,
    as_json: JsonOption = False,
    config: ConfigFileOption = None,
    project_dir: ProjectDirOption = None,
    serving: Annotated[bool, typer.Option(
        "--serving", help="preview as after the first approval (every served use case serving version 1) "
                          "instead of as a new account")] = False,
) -> None:
    """Preview the stack files beside Pulumi.yaml offline and judge them with the policy pack.

    Each stack is read at its own mlops-platform:size (they must agree). `--size S` previews the samples in
    examples/S/ unless the project's own stack files are of size S."""
    err = Console(stderr=True)
    with _one_line_errors(err):
        project = load_project_config(project_dir or default_project_dir(), size, config)
        result = run_preview(project, only_stack=stack, progress=lambda message: err.print(f"[dim]{message}[/dim]"),
                             serving=serving)
        if as_json:
            sys.stdout.write(json.dumps(preview_document(result), indent=2, sort_keys=False) + "\n")
        else:
            print_preview(result, Console())
    if result.failed:
        raise typer.Exit(EXIT_VIOLATIONS)


class UsageError(Exception):
    """Flags that do not fit together."""


@app.command(epilog=EXIT_STATUS_HELP)
def init(
    size: Annotated[str | None, typer.Option(help="small, medium or large: the size whose stack files to write")]
    = None,
    accounts: Annotated[str | None, typer.Option(
        help="account ids, key=id,... (the size's account keys); the others are written as marked placeholders")]
    = None,
    region: Annotated[str | None, typer.Option(help="mlops-platform:region of every stack (default: Pulumi.yaml's)")]
    = None,
    force: Annotated[bool, typer.Option(help="overwrite existing stack files and remove those of other sizes")]
    = False,
    project_dir: ProjectDirOption = None,
) -> None:
    """Write the Pulumi.<stack>.yaml files of a size beside Pulumi.yaml, from the samples in examples/<size>/."""
    err = Console(stderr=True)
    with _one_line_errors(err):
        root = project_dir or default_project_dir()
        chosen = init_size(size)
        written = init_stack_files(root, chosen, parse_accounts(accounts, chosen), region, force)
    out = Console(highlight=False, soft_wrap=True)
    for path in written.written:
        out.print(f"wrote {escape(str(path))}")
    for path in written.removed:
        out.print(f"removed {escape(str(path))} (no stack of size {chosen.value})")
    if written.placeholders:
        out.print(f"replace the placeholder ids of accounts {', '.join(written.placeholders)} (marked PLACEHOLDER) "
                  "with your own before `pulumi up`")


def init_size(size: str | None) -> Size:
    if size is None:
        raise ConfigFileError("init: --size is required: small, medium or large")
    try:
        return Size(size.lower())
    except ValueError:
        raise ConfigFileError(f"--size {size}: allowed sizes are: {', '.join(s.value for s in Size)}") from None


INVALID_INPUT: tuple[type[BaseException], ...] = (ConfigError, ConfigFileError, ContractError, UsageError,
                                                  PriceTableError)
TOOL_FAILURES: tuple[type[BaseException], ...] = (AnalyzerError, EngineUnavailable, MatrixError, GraphvizMissing,
                                                  GraphvizFailed)


@contextmanager
def _one_line_errors(err: Console) -> Iterator[None]:
    """Every failure as one line on stderr and its exit status; never a traceback."""
    try:
        yield
    except INVALID_INPUT as problem:
        _fail(err, str(problem), EXIT_INVALID_CONFIG)
    except CaptureError as problem:
        invalid_input = isinstance(problem.__cause__, ConfigError | ContractError | ServingStateError)
        _fail(err, str(problem), EXIT_INVALID_CONFIG if invalid_input else EXIT_INTERNAL)
    except TOOL_FAILURES as problem:
        _fail(err, str(problem), EXIT_INTERNAL)
    except KeyboardInterrupt:  # only where the console script's signal handlers are not installed
        _fail(err, "interrupted (Ctrl-C)", EXIT_INTERRUPTED)
    except (typer.Exit, typer.Abort):
        raise
    except Exception as problem:  # the promise is one line, whatever failed
        _fail(err, f"internal error ({type(problem).__name__}): {problem}", EXIT_INTERNAL)


def _fail(err: Console, message: str, status: int) -> None:
    first_line = message.strip().splitlines()[0] if message.strip() else "failed"
    err.print(f"[red]error:[/red] {escape(first_line)}", highlight=False, soft_wrap=True, emoji=False)
    raise typer.Exit(status) from None


def _captured(err: Console, project_dir: Path | None, size: str | None, config: Path | None) -> CapturedSize:
    project = load_project_config(project_dir or default_project_dir(), size, config)
    return capture_size(project, progress=lambda message: err.print(f"[dim]{message}[/dim]"), serving=True)


@app.command(epilog=EXIT_STATUS_HELP)
def diagram(
    size: SizeOption = None,
    image_format: Annotated[DiagramFormat, typer.Option("--format", help="mermaid (text), or svg/png (need "
                                                        "Graphviz)")] = DiagramFormat.MERMAID,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write here (default for mermaid: "
                                                "stdout)")] = None,
    config: ConfigFileOption = None,
    project_dir: ProjectDirOption = None,
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


@app.command(epilog=EXIT_STATUS_HELP)
def cost(
    size: SizeOption = None,
    as_json: JsonOption = False,
    config: ConfigFileOption = None,
    project_dir: ProjectDirOption = None,
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
    from mlops_platform.entry import main as entry_main

    entry_main()
