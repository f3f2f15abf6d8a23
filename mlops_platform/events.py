"""EventBridge event patterns the platform reacts to, in the shape AWS documents its events."""

from __future__ import annotations

from typing import Any

MODEL_PACKAGE_STATE_CHANGE = "SageMaker Model Package State Change"


def model_package_approved_pattern(model_package_group_name: str) -> dict[str, Any]:
    """A model package of this group became Approved (the event is sent on every package state change)."""
    return {
        "source": ["aws.sagemaker"],
        "detail-type": [MODEL_PACKAGE_STATE_CHANGE],
        "detail": {
            "ModelPackageGroupName": [model_package_group_name],
            "ModelApprovalStatus": ["Approved"],
        },
    }
