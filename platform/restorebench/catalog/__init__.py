"""Datasets and degradations inside the site: the `import_dataset` and `degrade` commands.

The work itself lives in the Django-free `benchdata` package; this app is only its command-line face.
"""
