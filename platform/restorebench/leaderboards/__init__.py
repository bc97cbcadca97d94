"""Leaderboards: ranking a phase by its track rule, the organizer views on top of it, and exports."""
