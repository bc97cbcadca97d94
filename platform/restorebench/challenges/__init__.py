"""Challenges, their tracks and phases, ranking rules, organizers, and the audit log of organizer actions."""
