"""Fixtures for bundle tests: storage folders of this run (the starter benchmark is built there once)
and a writer of bundle files."""

from pathlib import Path

import pytest

TINY_BUNDLE = """\
format: 1
challenge:
  slug: {slug}
  title: Tiny challenge
tracks:
  - slug: denoise
    title: Denoising
    task: denoise
    degradation: {{sigma: 25}}
    scoring: {{metrics: [psnr, ssim], ranking_metric: psnr}}
    data: {{dataset: starter, seed: 7}}
    phases:
      - slug: dev
        title: Development
        split: val
        starts_at: 2020-01-01T00:00:00Z
        ends_at: 2099-01-01T00:00:00+00:00
"""


@pytest.fixture
def bundle_dirs(platform_dirs, settings) -> Path:
    settings.VAR_DIR = platform_dirs
    settings.RESTOREBENCH_DATASETS_DIR = platform_dirs / "datasets"
    return platform_dirs


@pytest.fixture
def write_bundle(tmp_path):
    def write(text: str, name: str = "bundle.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
