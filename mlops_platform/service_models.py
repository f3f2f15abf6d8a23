"""botocore's SageMaker service model, parsed once per process: `get_service_model` parses the JSON anew on each
call (about 0.1 s), and config validation and every drift check definition read it."""

from __future__ import annotations

import functools

from botocore.model import ServiceModel


@functools.cache
def sagemaker() -> ServiceModel:
    import botocore.session  # where needed only: the CLI's start and its error paths never pay for it

    return botocore.session.get_session().get_service_model("sagemaker")
