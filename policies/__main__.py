"""Serves the mlops-platform policy pack; the policies live in the `guardrails` package beside this file."""

from guardrails.pack import serve_pack

serve_pack()
