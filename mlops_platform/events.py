"""EventBridge event patterns the platform reacts to, in the shape AWS documents its events."""

from __future__ import annotations

from typing import Any

from mlops_platform import contract

MODEL_PACKAGE_STATE_CHANGE = "SageMaker Model Package State Change"
ENDPOINT_STATE_CHANGE = "SageMaker Endpoint State Change"


def model_package_decided_pattern(model_package_group_name: str) -> dict[str, Any]:
    """A model package of this group was Approved or Rejected (the event is sent on every package state
    change): either may change which version should serve."""
    return {
        "source": ["aws.sagemaker"],
        "detail-type": [MODEL_PACKAGE_STATE_CHANGE],
        "detail": {
            "ModelPackageGroupName": [model_package_group_name],
            "ModelApprovalStatus": ["Approved", "Rejected"],
        },
    }


def endpoint_in_service_pattern(endpoint_name: str) -> dict[str, Any]:
    """The endpoint entered InService: created, or a deployment finished or was rolled back."""
    return {
        "source": ["aws.sagemaker"],
        "detail-type": [ENDPOINT_STATE_CHANGE],
        "detail": {
            "EndpointName": [endpoint_name],
            "EndpointStatus": ["IN_SERVICE"],
        },
    }


def drift_retrain_pattern(use_case: str) -> dict[str, Any]:
    """The drift check of `use_case` asks for retraining (`detail.retrain` true: drifted past the threshold, no
    retraining in flight, the cooldown over); checks that found nothing, or decided against retraining, do not
    match."""
    return {
        "source": [contract.DRIFT_EVENT_SOURCE],
        "detail-type": [contract.DRIFT_EVENT_DETAIL_TYPE],
        "detail": {
            "useCase": [use_case],
            "retrain": [True],
        },
    }


def model_package_approved_pattern(model_package_group_name: str) -> dict[str, Any]:
    """A model package of this group was Approved: what starts its promotion (medium, large)."""
    return {
        "source": ["aws.sagemaker"],
        "detail-type": [MODEL_PACKAGE_STATE_CHANGE],
        "detail": {
            "ModelPackageGroupName": [model_package_group_name],
            "ModelApprovalStatus": ["Approved"],
        },
    }


def model_packages_approved_pattern(model_package_group_names: list[str]) -> dict[str, Any]:
    """A model package of any of these groups was Approved: what the registry's account forwards to cicd's."""
    return {
        "source": ["aws.sagemaker"],
        "detail-type": [MODEL_PACKAGE_STATE_CHANGE],
        "detail": {
            "ModelPackageGroupName": sorted(model_package_group_names),
            "ModelApprovalStatus": ["Approved"],
        },
    }
