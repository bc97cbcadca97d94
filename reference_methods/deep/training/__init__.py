"""Training scripts of the deep reference methods (`python -m reference_methods.deep.training.train`)."""
