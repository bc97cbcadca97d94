"""Users, teams and API tokens: who participates in which challenge, and on which tracks."""
