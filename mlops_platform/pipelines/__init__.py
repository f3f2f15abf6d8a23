"""SageMaker pipeline definitions, generated offline with the sagemaker SDK, and the scripts their steps run."""
