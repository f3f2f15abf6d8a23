"""mlops-platform: one stack per tier. See README.md."""

from mlops_platform.program import build_stack

build_stack()
