"""One `pulumi.ComponentResource` per platform capability."""
