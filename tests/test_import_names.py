"""Guards against the shadowing trap: nothing of ours may be importable as `platform` or `datasets`."""

import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_stdlib_platform_module_is_the_real_one():
    import platform

    assert platform.python_version().startswith("3.")
    assert Path(platform.__file__).parent != ROOT / "platform"


def test_project_folders_named_platform_and_datasets_are_not_packages():
    assert not (ROOT / "platform" / "__init__.py").exists()
    assert not (ROOT / "datasets" / "__init__.py").exists()


def test_hugging_face_datasets_is_not_shadowed():
    spec = importlib.util.find_spec("datasets")
    # pyiqa depends on Hugging Face `datasets`; if it is installed it must not resolve into our tree.
    if spec is not None and spec.origin is not None:
        assert "site-packages" in Path(spec.origin).parts
        assert not Path(spec.origin).is_relative_to(ROOT / "datasets")
    assert str(ROOT / "datasets") not in sys.path
