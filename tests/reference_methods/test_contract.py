"""The contract every registered reference method keeps, on every task it claims.

Parametrised over `list_methods()`, so a method registered by any family module is covered the
moment it exists. For each (method, task) on a small degraded natural image:

- it restores: PSNR against the ground truth beats the degraded input by at least 0.5 dB (burst SR:
  nearest-neighbour upscaling of the reference frame, since the input itself has another size). The
  one method that must not improve, `identity`, must return its input.
- super-resolution is held to a higher bar: at every scale the method serves (its `scales=`, else
  ×2, ×3 and ×4) it beats MATLAB bicubic upscaling of the low-resolution input on PSNR; `bicubic`
  itself must return exactly that image.
- a case a method does not meet is a documented known failure in its registry entry (`KnownFailure`,
  shown by `manage.py methods`), run here as a strict xfail: it is reported, and the day the method
  starts to pass the xfail turns into an error, so the registry entry can never hide a change.
- other tests run SR at the task example's scale (×2), or the smallest scale the method serves.
- it keeps the shape convention ((H, W) and (H, W, 3); SR: scale times larger) and the [0, 1] range;
  a method that does not handle colour must say so with a MethodError, not crash;
- it is deterministic: the same call twice gives the same bits;
- it rejects bad parameters clearly: unknown names, non-numbers and non-finite numbers for numeric
  parameters, and tasks it does not serve, each with a MethodError naming the problem.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pytest

from benchdata.resize import imresize
from benchdata.tasks import get_task
from reference_methods.registry import (
    MethodError,
    RestorationContext,
    context_from_spec,
    get_method,
    list_methods,
    restore,
)

from .conftest import TASK_SPECS

# Methods whose job is to do nothing: they return the degraded input as it is.
DO_NOTHING = {"identity"}
MIN_GAIN_DB = 0.5
# SR must beat bicubic: by a margin that rounding noise cannot supply (the output is not quantised).
MIN_GAIN_OVER_BICUBIC_DB = 0.05

# (method, task) for every task with a synthetic degradation to test on; methods of tasks whose data
# are organizer pairs (enhance) are run by tests/restorebench/test_task_contract.py.
PAIRS = [(m.name, task) for m in list_methods() for task in m.tasks if task in TASK_SPECS]
# (method, scale) for every scale each SR method serves.
SR_CASES = [(m.name, s) for m in list_methods("sr") for s in m.served_scales("sr")]


def _xfail_if_known(name: str, task: str, scale: int | None, case_id: str):
    failure = get_method(name).known_failure(task, scale)
    marks = [pytest.mark.xfail(strict=True, reason=failure.label())] if failure else []
    return marks, case_id


def _improvement_cases():
    for name, task in PAIRS:
        if task == "sr":  # held to the bicubic bar below
            continue
        marks, case_id = _xfail_if_known(name, task, None, f"{name}-{task}")
        yield pytest.param(name, task, marks=marks, id=case_id)


def _sr_cases():
    for name, scale in SR_CASES:
        marks, case_id = _xfail_if_known(name, "sr", scale, f"{name}-x{scale}")
        yield pytest.param(name, scale, marks=marks, id=case_id)


# Tasks whose data a method can be tested on here (the others' data are organizer pairs, covered by
# tests/test_task_contract.py).
TASKS = tuple(TASK_SPECS)


def _spec(task: str, scale: int | None = None) -> dict:
    return {**TASK_SPECS[task], "scale": scale} if scale else TASK_SPECS[task]


def _scale_for(name: str, task: str) -> int | None:
    """The task example's scale, or the method's smallest served scale when it does not serve it."""
    if not get_task(task).scaled:
        return None
    example = context_from_spec(task, TASK_SPECS[task]).scale
    served = get_method(name).served_scales(task)
    return example if example in served else min(served)


def _context(task: str, degraded, scale: int | None = None) -> RestorationContext:
    return context_from_spec(task, _spec(task, scale), kernel=degraded.kernel, mask=degraded.mask)


@cache
def _case(task: str, colour: bool, scale: int | None = None):
    from skimage import data

    from benchdata.degradations import degrade

    if colour:
        image = data.astronaut()[60:100, 180:220].astype(np.float64) / 255.0
    else:
        image = data.camera()[150:198, 200:248].astype(np.float64) / 255.0
    return degrade(image, _spec(task, scale), 7)


@cache
def _restored(name: str, task: str, colour: bool, scale: int | None = None) -> np.ndarray:
    degraded = _case(task, colour, scale)
    return restore(name, degraded.image, _context(task, degraded, scale))


def _psnr(estimate: np.ndarray, truth: np.ndarray) -> float:
    return 10.0 * math.log10(1.0 / float(np.mean((np.clip(estimate, 0, 1) - truth) ** 2)))


def _nearest_upscale(image: np.ndarray, scale: int) -> np.ndarray:
    return np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)


def _baseline(task: str, degraded) -> float:
    """PSNR of doing the least: the input itself, or for a larger output nearest-neighbour upscaling of
    the (reference frame of the) input."""
    info = get_task(task)
    image = degraded.image[0] if info.multi_frame else degraded.image
    if info.scaled:
        image = _nearest_upscale(image, context_from_spec(task, TASK_SPECS[task]).scale)
    return _psnr(image, degraded.ground_truth)


def test_every_task_has_reference_methods():
    for task in TASKS:
        assert list_methods(task), f"no reference method serves {task}"


@pytest.mark.parametrize(("name", "task"), list(_improvement_cases()))
def test_it_improves_psnr_over_the_degraded_input(name, task):
    degraded = _case(task, colour=False)
    truth = degraded.ground_truth
    restored = _restored(name, task, False)
    if name in DO_NOTHING:
        assert np.array_equal(restored, np.clip(degraded.image, 0, 1))
        return
    baseline = _baseline(task, degraded)
    gain = _psnr(restored, truth) - baseline
    assert gain >= MIN_GAIN_DB, f"{name} on {task}: {gain:+.2f} dB over the baseline ({baseline:.2f} dB)"


@pytest.mark.parametrize(("name", "scale"), list(_sr_cases()))
def test_super_resolution_beats_bicubic_at_every_scale_it_serves(name, scale):
    degraded = _case("sr", False, scale)
    bicubic = np.clip(imresize(degraded.image, float(scale)), 0, 1)
    restored = _restored(name, "sr", False, scale)
    if name == "bicubic":
        assert np.array_equal(restored, bicubic)
        return
    baseline = _psnr(bicubic, degraded.ground_truth)
    gain = _psnr(restored, degraded.ground_truth) - baseline
    assert gain >= MIN_GAIN_OVER_BICUBIC_DB, (
        f"{name} ×{scale}: {gain:+.2f} dB over bicubic ({baseline:.2f} dB); beat it or document a "
        "KnownFailure in the registry entry"
    )


def test_sr_is_tested_at_every_served_scale_and_esrgan_at_x4():
    # The bar's coverage: a method with declared scales is tested at exactly those, others at ×2/×3/×4.
    cases = set(SR_CASES)
    assert {("esrgan", 4), ("srresnet", 2), ("srresnet", 4), ("bicubic", 3), ("scsr", 4)} <= cases
    assert ("esrgan", 2) not in cases and ("srresnet", 3) not in cases


@pytest.mark.parametrize(("name", "task"), PAIRS)
def test_it_preserves_shape_and_range(name, task):
    scale = _scale_for(name, task)
    for colour in (False, True):
        degraded = _case(task, colour, scale)
        try:
            restored = _restored(name, task, colour, scale)
        except MethodError as error:
            # Allowed only as a clear refusal of colour input.
            assert colour and any(w in str(error).lower() for w in ("gray", "grey", "colour", "color", "rgb"))
            continue
        assert restored.dtype == np.float64
        assert restored.shape == degraded.ground_truth.shape
        assert restored.min() >= 0.0 and restored.max() <= 1.0
        assert np.isfinite(restored).all()


@pytest.mark.parametrize(("name", "task"), PAIRS)
def test_it_is_deterministic(name, task):
    scale = _scale_for(name, task)
    degraded = _case(task, False, scale)
    again = restore(name, degraded.image, _context(task, degraded, scale))
    assert np.array_equal(again, _restored(name, task, False, scale))


@pytest.mark.parametrize("name", [m.name for m in list_methods()])
def test_it_refuses_tasks_it_does_not_serve(name):
    info = get_method(name)
    for task in sorted(set(TASKS) - set(info.tasks)):
        degraded = _case(task, colour=False)
        with pytest.raises(MethodError, match=f"does not serve task '{task}'"):
            restore(name, degraded.image, _context(task, degraded))


@pytest.mark.parametrize(("name", "task"), PAIRS)
def test_it_rejects_unknown_and_ill_typed_parameters(name, task):
    scale = _scale_for(name, task)
    degraded = _case(task, False, scale)
    context = _context(task, degraded, scale)
    with pytest.raises(MethodError, match="no_such_parameter"):
        restore(name, degraded.image, context.replace(params={"no_such_parameter": 1}))
    defaults = get_method(name).parameters(context)
    numeric = [k for k, v in defaults.items() if isinstance(v, int | float) and not isinstance(v, bool)]
    for key in numeric:
        for bad in (float("nan"), float("inf"), "3"):
            with pytest.raises(MethodError, match=key):
                restore(name, degraded.image, context.replace(params={key: bad}))


def test_every_method_has_a_citation_family_and_summary():
    for info in list_methods():
        assert info.citation.strip(), info.name
        assert info.summary.strip(), info.name
