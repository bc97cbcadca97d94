"""Reference restoration methods that seed every leaderboard, registered in one table.

`list_methods()`, `get_method(name)` and `restore(name, degraded, context)` are the public entry
points; see `reference_methods/registry.py` for the contract each method follows.
"""
