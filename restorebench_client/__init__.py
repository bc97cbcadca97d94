"""`restorebench`: the participant's command-line client of a RestoreBench site.

login → download PHASE (inputs, public ground truth, scoring spec) → restore → submit PHASE FILE
(chunked and resumable, then the status until scored) → score (locally, with the phase's exact spec).
Talks to the site's REST API only (docs/cli.md); needs no Django. Scoring runs the `evaluator`.
"""
