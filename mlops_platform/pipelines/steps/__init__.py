"""Step scripts of the SageMaker pipelines.

Each module here is uploaded on its own and run as ``python3 <script>`` inside a SageMaker container, so it
imports nothing from this package: only the standard library, numpy, pandas and scikit-learn (and, in
``evaluate``, xgboost when the container has it). The package exists so tests can import them.
"""
