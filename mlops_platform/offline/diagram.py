"""Draw a size's architecture (`architecture.py`): Mermaid text by default, which GitHub renders and needs no
native tool; SVG or PNG with AWS service icons through the `diagrams` library, which needs Graphviz's `dot`."""

from __future__ import annotations

import base64
import re
import shutil
import tempfile
from enum import StrEnum
from pathlib import Path

from mlops_platform.offline.architecture import Architecture, Component

GRAPHVIZ_HINT = ("Graphviz's `dot` is not on PATH: install Graphviz (`apt-get install graphviz`, "
                 "`brew install graphviz`, or https://graphviz.org/download/), or use --format mermaid")


class DiagramFormat(StrEnum):
    MERMAID = "mermaid"
    SVG = "svg"
    PNG = "png"


class GraphvizMissing(Exception):
    """An image format was asked for on a machine without Graphviz."""


class GraphvizFailed(Exception):
    """Graphviz is there but could not draw the diagram."""


def mermaid(drawing: Architecture) -> str:
    """A Mermaid flowchart: one subgraph per box, one node per component, one labelled edge per arrow."""
    lines = ["flowchart LR"]
    for box in drawing.boxes:
        lines.append(f'  subgraph {box.key}["{_text(box.label)}"]')
        members = drawing.in_box(box)
        for component in members:
            lines.append(f'    {component.key}["{_text(node_label(component, "<br/>"))}"]')
        if not members:
            lines.append(f'    {box.key}__none["no platform component yet"]')
        lines.append("  end")
    for arrow in drawing.arrows:
        lines.append(f'  {arrow.source.key} -->|"{_text(arrow.label)}"| {arrow.target.key}')
    return "\n".join(lines) + "\n"


MAX_NAMES = 3


def node_label(component: Component, line_break: str, between_names: str = ", ") -> str:
    """The component's kind and the names of what makes it up, sorted (the engine registers resources in no fixed
    order), the first few only: a node is not an inventory."""
    names = sorted(set(component.names))
    if len(names) > MAX_NAMES:
        names = [*names[: MAX_NAMES - 1], f"+{len(names) - MAX_NAMES + 1} more"]
    return component.kind.label + line_break + between_names.join(names)


def _text(label: str) -> str:
    """Mermaid's quoted labels end at a double quote; `#quot;` is its escape for one."""
    return label.replace('"', "#quot;")


def render_image(drawing: Architecture, image_format: DiagramFormat, destination: Path) -> None:
    """Write an SVG (icons embedded, so the file stands alone) or PNG of the architecture."""
    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizMissing(GRAPHVIZ_HINT)
    from graphviz import CalledProcessError, ExecutableNotFound

    with tempfile.TemporaryDirectory() as scratch:
        try:
            produced = _draw_with_icons(drawing, image_format, Path(scratch) / "architecture")
        except ExecutableNotFound:
            raise GraphvizMissing(GRAPHVIZ_HINT) from None
        except CalledProcessError as err:
            raise GraphvizFailed(f"Graphviz's {dot} could not draw the diagram: {_said(err.stderr) or err}") from None
        if image_format is DiagramFormat.SVG:
            destination.write_text(embed_images(produced.read_text()))
        else:
            shutil.copyfile(produced, destination)


def _draw_with_icons(drawing: Architecture, image_format: DiagramFormat, stem: Path) -> Path:
    # Imported here: `diagrams` loads its icon catalogue on import, which Mermaid output never needs.
    from diagrams import Cluster, Diagram, Edge

    from mlops_platform.offline.diagram_icons import icon_for

    title = f"mlops-platform — {drawing.size.value}"
    with Diagram(title, filename=str(stem), outformat=image_format.value, show=False, direction="LR",
                 graph_attr={"splines": "spline", "pad": "0.5"}):
        nodes = {}
        for box in drawing.boxes:
            with Cluster(box.label):
                for component in drawing.in_box(box):
                    nodes[component.key] = icon_for(component.kind.key)(node_label(component, "\n", "\n"))
        for arrow in drawing.arrows:
            nodes[arrow.source.key] >> Edge(label=arrow.label) >> nodes[arrow.target.key]
    return stem.with_suffix(f".{image_format.value}")


def _said(output: bytes | str | None) -> str:
    """What a failed process wrote, on one line."""
    text = output.decode(errors="replace") if isinstance(output, bytes) else output or ""
    return " ".join(text.split())


_IMAGE_REFERENCE = re.compile(r'xlink:href="([^"]+\.png)"')


def embed_images(svg: str) -> str:
    """Graphviz links each icon by its path on this machine; inline them as data URIs instead."""

    def inline(match: re.Match[str]) -> str:
        path = Path(match.group(1))
        if not path.is_file():
            return match.group(0)
        encoded = base64.b64encode(path.read_bytes()).decode("ascii")
        return f'xlink:href="data:image/png;base64,{encoded}"'

    return _IMAGE_REFERENCE.sub(inline, svg)
