"""Training scripts for the reference methods that learn from data (run by hand; outputs are committed)."""
