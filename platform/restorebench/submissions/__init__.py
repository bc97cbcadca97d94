"""Uploads (direct and chunked), submissions, evaluation jobs run over Celery, and per-image scores."""
