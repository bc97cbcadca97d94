"""The registered generative methods with their committed weights, on tiny images of their tasks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reference_methods.generative import methods
from reference_methods.registry import MethodError, RestorationContext, list_methods, restore

GENERATIVE = ("pixelcnn", "vae", "dcgan", "realnvp", "vqvae", "pixelrnn", "vqvae2")
INPAINT_ONLY = ("pixelcnn", "pixelrnn", "vqvae2")
# Fewer iterations than the defaults: these tests check the contract, not the quality.
FAST = {"vae": {"iterations": 10}, "dcgan": {"iterations": 10}, "realnvp": {"iterations": 10}}


def _image(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """A smooth image with an edge, on [0, 1]."""
    rng = np.random.default_rng(seed)
    h, w = shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    base = 0.3 + 0.4 * (xx > w / 2) + 0.1 * np.sin(yy / 3.0)
    if len(shape) == 3:
        base = base[..., None] * np.array([1.0, 0.8, 0.6])
    return np.clip(base + 0.02 * rng.standard_normal(shape), 0, 1)


def _mask(h: int, w: int) -> np.ndarray:
    mask = np.zeros((h, w), bool)
    mask[4:9, 5:12] = True
    mask[h - 3, :4] = True
    return mask


def _cases() -> list:
    cases = []
    for name in GENERATIVE:
        tasks = ("inpaint",) if name in INPAINT_ONLY else ("inpaint", "sr")
        for task in tasks:
            for shape in ((14, 18), (14, 18, 3)):
                kind = "rgb" if len(shape) == 3 else "gray"
                cases.append(pytest.param(name, task, shape, id=f"{name}-{task}-{kind}"))
    return cases


def _context(name: str, task: str, shape: tuple[int, ...], seed: int = 0) -> RestorationContext:
    params = FAST.get(name, {})
    if task == "inpaint":
        return RestorationContext("inpaint", mask=_mask(*shape[:2]), params=params, seed=seed)
    return RestorationContext("sr", scale=3, params=params, seed=seed)


def test_the_generative_family_serves_inpainting_and_sr() -> None:
    family = {m.name: m for m in list_methods() if m.family == "generative"}
    assert set(family) == set(GENERATIVE)
    for name in GENERATIVE:
        expected = {"inpaint"} if name in INPAINT_ONLY else {"inpaint", "sr"}
        assert set(family[name].tasks) == expected


@pytest.mark.parametrize("name, task, shape", _cases())
def test_method_returns_the_right_shape_in_range_deterministically(
    name: str, task: str, shape: tuple[int, ...]
) -> None:
    degraded = _image(shape)
    if task == "sr":
        degraded = degraded[:5, :6]
    context = _context(name, task, shape)
    out = restore(name, degraded, context)
    expected = (15, 18, *shape[2:]) if task == "sr" else shape
    assert out.shape == expected and out.dtype == np.float64
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    again = restore(name, degraded, context)
    assert np.array_equal(out, again)
    if task == "inpaint":
        known = ~context.mask
        assert np.array_equal(out[known], degraded[known])
        # The missing pixels were actually filled (not left at the degraded values).
        assert not np.array_equal(out[context.mask], degraded[context.mask])


def test_inpainting_leaves_known_pixels_unchanged_when_the_input_leaves_zero_one() -> None:
    """Inputs are clipped for the model, but known pixels come back exactly as given (then the
    registry clips to [0, 1], as for every method)."""
    degraded = _image((12, 12))
    degraded[0, 0] = 1.0
    mask = np.zeros((12, 12), bool)
    mask[3:6, 3:6] = True
    out = restore("vae", degraded, RestorationContext("inpaint", mask=mask, params={"iterations": 3}))
    assert np.array_equal(out[~mask], degraded[~mask])


def test_pixelcnn_sampling_depends_on_the_seed() -> None:
    degraded = _image((12, 12))
    mask = np.zeros((12, 12), bool)
    mask[4:8, 4:8] = True
    ctx = RestorationContext("inpaint", mask=mask, params={"fill": "sample", "directions": 1}, seed=1)
    a = restore("pixelcnn", degraded, ctx)
    assert np.array_equal(a, restore("pixelcnn", degraded, ctx))
    assert not np.array_equal(a, restore("pixelcnn", degraded, ctx.replace(seed=2)))


@pytest.mark.parametrize(
    "name, params, message",
    [
        ("pixelcnn", {"directions": 3}, "directions"),
        ("pixelcnn", {"fill": "median"}, "fill"),
        ("vae", {"noise": -1.0}, "noise"),
        ("dcgan", {"iterations": 0}, "iterations"),
        ("realnvp", {"stride": 40}, "stride"),
        ("vqvae", {"top_k": 0}, "top_k"),
        ("pixelrnn", {"directions": 2}, "directions"),
        ("pixelrnn", {"fill": "median"}, "fill"),
        ("vqvae2", {"top_k": 0}, "top_k"),
        ("vqvae2", {"noise": 0.0}, "noise"),
        ("vqvae2", {"sample": "yes"}, "sample"),
    ],
)
def test_bad_parameters_are_refused_with_their_name(name: str, params: dict, message: str) -> None:
    ctx = RestorationContext("inpaint", mask=_mask(14, 18), params=params)
    with pytest.raises(MethodError, match=message):
        restore(name, _image((14, 18)), ctx)


def test_a_mask_with_nothing_known_is_refused() -> None:
    ctx = RestorationContext("inpaint", mask=np.ones((8, 8), bool))
    with pytest.raises(MethodError, match="every pixel is missing"):
        restore("vae", _image((8, 8)), ctx)


def test_missing_weights_name_the_file_and_the_training_command(tmp_path: Path) -> None:
    with pytest.raises(MethodError, match=r"vae\.safetensors are missing.*training\.train vae"):
        methods.load_model("vae", weights_dir=tmp_path)


def test_committed_weights_load_for_every_model() -> None:
    for name in (
        "pixelcnn",
        "vae",
        "realnvp",
        "dcgan",
        "vqvae",
        "vqvae_prior",
        "pixelrnn",
        "vqvae2",
        "vqvae2_top_prior",
        "vqvae2_bottom_prior",
    ):
        net = methods.load_model(name)
        assert not any(p.requires_grad for p in net.parameters())
