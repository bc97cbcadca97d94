"""The registry's SR scales and documented known failures: declared once, enforced and shown."""

from __future__ import annotations

import numpy as np
import pytest

from reference_methods.cli import methods_table
from reference_methods.registry import (
    TRACK_SCALES,
    KnownFailure,
    MethodError,
    RestorationContext,
    get_method,
    list_methods,
    register_method,
    restore,
)


def test_a_method_refuses_a_scale_it_does_not_declare_before_running():
    with pytest.raises(MethodError, match=r"esrgan: serves scale\(s\) 4, not 2"):
        restore("esrgan", np.zeros((8, 8)), RestorationContext(task="sr", scale=2))


def test_served_scales_are_the_declaration_or_the_track_scales():
    assert get_method("esrgan").served_scales("sr") == (4,)
    assert get_method("srresnet").served_scales("sr") == (2, 4)
    assert get_method("bicubic").served_scales("sr") == TRACK_SCALES == (2, 3, 4)
    assert get_method("ipt").served_scales("denoise") == ()


def test_known_failures_cover_their_task_and_scales_only():
    vqvae = get_method("vqvae")
    assert vqvae.known_failure("sr", 2) is not None and vqvae.known_failure("sr", 3) is not None
    assert vqvae.known_failure("sr", 4) is None and vqvae.known_failure("inpaint") is None
    assert get_method("srgan").known_failure("sr", 4).metric == "psnr"
    # ESRGAN beats bicubic on PSNR here (CSet14 ×4 +0.66 dB): a perceptual method, but no known failure.
    assert get_method("esrgan").known_failures == () and get_method("vdsr").known_failures == ()


def test_every_known_failure_gives_a_reason_and_a_metric():
    for info in list_methods():
        for failure in info.known_failures:
            assert failure.task in info.tasks and failure.metric and len(failure.reason) > 20, info.name


def test_the_methods_table_shows_scales_and_known_failures_with_their_reason():
    lines = {row.split()[0]: row for row in methods_table("sr").splitlines()}
    assert " ×4 " in lines["esrgan"] and "known failure" not in lines["esrgan"]
    assert " ×2,×4 " in lines["srgan"] and "known failure on sr (PSNR)" in lines["srgan"]
    assert "LPIPS" in lines["srgan"] and "known failure on sr ×2 ×3 (PSNR)" in lines["vqvae"]
    assert " any " in lines["bicubic"] and "known failure" not in lines["vdsr"]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"scales": (1,)}, "scales must be integers >= 2"),
        ({"known_failures": (KnownFailure("inpaint", "psnr", "no such task here"),)}, "does not serve"),
    ],
)
def test_registration_refuses_bad_scales_and_stray_known_failures(kwargs, fragment):
    with pytest.raises(MethodError, match=fragment):
        register_method("never_registered", family="deep", tasks=("sr",), citation="x", **kwargs)
