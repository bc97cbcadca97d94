"""Fixtures of the baselines tests: a challenge loaded from a bundle text into the test's platform dirs."""

from collections.abc import Callable
from pathlib import Path

import pytest
from restorebench.bundles.services import bundle_load
from restorebench.challenges.models import Phase


@pytest.fixture
def load_bundle(platform_dirs, settings, tmp_path) -> Callable[[str], Phase]:
    """Load a bundle (YAML text) with the datasets under the test's platform dirs; returns the phase of
    its challenge `baselines-test`."""

    def load(text: str) -> Phase:
        settings.VAR_DIR = platform_dirs
        settings.RESTOREBENCH_DATASETS_DIR = platform_dirs / "datasets"
        path = Path(tmp_path) / "bundle.yaml"
        path.write_text(text)
        bundle_load(path=path)
        return Phase.objects.get(track__challenge__slug="baselines-test")

    return load
