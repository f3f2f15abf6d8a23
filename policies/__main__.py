"""Builds the mlops-platform policy pack; the policies live in the `guardrails` package beside this file."""

from guardrails.pack import build_pack

build_pack()
