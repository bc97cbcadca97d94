"""Reference methods inside the site: the `methods`, `restore` and `run_baselines` commands.

The algorithms live in the Django-free `reference_methods` package.
"""
