"""RestoreBench's scoring engine: exact PSNR / SSIM / LPIPS for restored images, with no Django.

Public entry points: `score()` (library), `python -m evaluator` (CLI), and
`evaluator.jobs.run_scoring_job()` (the plain function the platform's Celery task calls).
"""
