"""Challenge bundles: a YAML file that defines a challenge, its tracks, phases and data, loaded by
`manage.py load_challenge FILE`."""
