"""The restoration algorithms, on small untrained networks (their behaviour, not the weights')."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from reference_methods.generative.archs import VAE, VQVAE, PixelCNN, RealNVP
from reference_methods.generative.patches import BicubicDownsampling, Masking, PatchGrid
from reference_methods.generative.priors import (
    flow_map,
    latent_map,
    local_cost,
    pixelcnn_conditional,
    pixelcnn_fill,
    vqvae_reselect,
)


def _pixelcnn(discrete: bool = False) -> PixelCNN:
    torch.manual_seed(0)
    return PixelCNN(
        levels=16 if discrete else 256,
        features=8,
        blocks=2,
        first_kernel=5,
        hidden=8,
        discrete_input=discrete,
    ).eval()


@pytest.mark.parametrize("discrete", [False, True])
def test_conditional_from_the_causal_crop_equals_the_whole_image_output(discrete: bool) -> None:
    net = _pixelcnn(discrete)
    x = torch.randint(0, 16, (13, 15)) if discrete else torch.rand(13, 15)
    with torch.no_grad():
        full = torch.log_softmax(net(x[None] if discrete else x[None, None])[0], dim=0)
        for i, j in [(0, 0), (0, 14), (6, 7), (12, 0), (12, 14), (9, 3)]:
            assert torch.allclose(pixelcnn_conditional(net, x, i, j), full[:, i, j], atol=1e-5)


def test_pixelcnn_fill_keeps_known_pixels_and_mode_fills_with_8bit_levels() -> None:
    net = _pixelcnn()
    image = torch.rand(9, 10)
    mask = np.zeros((9, 10), bool)
    mask[3:6, 2:7] = True
    known = torch.from_numpy(~mask)
    for directions in (1, 4):
        out = pixelcnn_fill(net, image, mask, directions=directions, fill="mode")
        assert torch.equal(out[known], image[known])
    # One direction, the mode: every filled value is one of the 256 levels (4 directions average them).
    levels = pixelcnn_fill(net, image, mask, directions=1, fill="mode")[torch.from_numpy(mask)] * 255
    assert torch.allclose(levels, levels.round(), atol=1e-4)


def test_pixelcnn_fill_in_one_direction_reproduces_sequential_greedy_decoding() -> None:
    """Independent check: fill by running the whole-image network after each pixel."""
    net = _pixelcnn()
    image = torch.rand(6, 7)
    mask = np.zeros((6, 7), bool)
    mask[2:4, 1:5] = True
    out = pixelcnn_fill(net, image, mask, directions=1, fill="mean")
    x = torch.where(torch.from_numpy(mask), torch.zeros_like(image), image)
    levels = torch.arange(256) / 255
    with torch.no_grad():
        for i, j in zip(*np.nonzero(mask), strict=True):
            p = torch.softmax(net(x[None, None])[0, :, i, j], 0)
            x[i, j] = (p * levels).sum()
    assert torch.allclose(out, x, atol=1e-5)


def test_pixelcnn_sampling_is_reproducible_for_a_seed_and_varies_between_seeds() -> None:
    net = _pixelcnn()
    image = torch.rand(8, 8)
    mask = np.zeros((8, 8), bool)
    mask[2:6, 2:6] = True
    a = pixelcnn_fill(net, image, mask, directions=1, fill="sample", seed=1)
    b = pixelcnn_fill(net, image, mask, directions=1, fill="sample", seed=1)
    c = pixelcnn_fill(net, image, mask, directions=1, fill="sample", seed=2)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_latent_map_lowers_the_objective_it_states() -> None:
    torch.manual_seed(0)
    vae = VAE(size=8, latent=4, features=8).eval()
    grid = PatchGrid(12, 12, 8, 4)
    lr = torch.rand(4, 4)
    op = BicubicDownsampling(lr, 3)
    z0 = torch.zeros(grid.count, 4)

    @torch.no_grad()
    def objective(z: torch.Tensor) -> float:
        x = grid.blend(vae.decode(z))
        return float(0.5 * (op.residual(x) ** 2).sum() / 0.05**2 + 0.5 * (z**2).sum())

    x = latent_map(vae.decode, z0, grid, op, noise=0.05, prior_weight=1.0, iterations=40, lr=0.05)
    assert x.shape == (12, 12)
    # Re-run the same optimisation to read its final latents: the objective must have dropped.
    z = z0.clone().requires_grad_(True)
    opt = torch.optim.Adam([z], lr=0.05)
    for _ in range(40):
        loss = (0.5 * (op.residual(grid.blend(vae.decode(z))) ** 2).sum() / 0.05**2 + 0.5 * (z**2).sum()) / 16
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert torch.allclose(grid.blend(vae.decode(z)).detach(), x, atol=1e-6)
    assert objective(z.detach()) < objective(z0)


def test_flow_map_for_inpainting_changes_only_the_missing_pixels_and_raises_the_likelihood() -> None:
    torch.manual_seed(0)
    flow = RealNVP(size=8, hidden=8, checkerboard=2, steps=1).eval()
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(0.05 * torch.randn_like(p))
    x0 = torch.rand(12, 12) * 0.8 + 0.1
    mask = np.zeros((12, 12), bool)
    mask[4:8, 4:8] = True
    grid = PatchGrid(12, 12, 8, 4)
    free = torch.from_numpy(mask)
    x = flow_map(
        flow, x0, grid, Masking(x0, mask), free=free, noise=0.01, prior_weight=1.0, iterations=30, lr=0.01
    )
    assert torch.equal(x[~free], x0[~free])
    with torch.no_grad():
        assert flow.log_prob(grid.extract(x)).sum() > flow.log_prob(grid.extract(x0)).sum()


def test_flow_map_for_sr_reduces_the_data_misfit_when_the_prior_is_weak() -> None:
    torch.manual_seed(0)
    flow = RealNVP(size=8, hidden=8, checkerboard=2, steps=1).eval()
    hr = torch.rand(16, 16) * 0.8 + 0.1
    op = BicubicDownsampling(torch.rand(4, 4) * 0.8 + 0.1, 4)
    x = flow_map(
        flow,
        hr,
        PatchGrid(16, 16, 8, 4),
        op,
        free=None,
        noise=0.01,
        prior_weight=1e-6,
        iterations=50,
        lr=0.01,
    )
    assert float((op.residual(x) ** 2).sum()) < 0.5 * float((op.residual(hr) ** 2).sum())


@pytest.mark.parametrize("task", ["inpaint", "sr"])
def test_local_cost_differences_equal_whole_image_cost_differences(task: str) -> None:
    """Changing one code: the local window's misfit changes exactly as the whole image's does."""
    torch.manual_seed(0)
    vq = VQVAE(codes=8, dim=4, features=8).eval()
    codes = torch.randint(0, 8, (1, 12, 12))
    if task == "inpaint":
        observed = torch.rand(48, 48)
        mask = np.random.default_rng(0).random((48, 48)) < 0.3
        op = Masking(observed, mask)
        margin = 0
    else:
        op = BicubicDownsampling(torch.rand(12, 12), 4)
        margin = 2
    i, j = 6, 5
    other = codes.clone()
    other[0, i, j] = (codes[0, i, j] + 3) % 8
    with torch.no_grad():
        full = [float((op.residual(vq.decode_indices(c)[0, 0]) ** 2).sum()) for c in (codes, other)]
        rd = vq.decoder_radius
        reach = 2 * rd + margin
        a0, a1, b0, b1 = max(i - reach, 0), min(i + reach + 1, 12), max(j - reach, 0), min(j + reach + 1, 12)
        window = torch.cat([codes, other])[:, a0:a1, b0:b1]
        decoded = vq.decode_indices(window)[:, 0]
        # Cells within rd of a window edge inside the map see the window's zero padding: left out.
        e0, e1 = a0 + (rd if a0 > 0 else 0), a1 - (rd if a1 < 12 else 0)
        f0, f1 = b0 + (rd if b0 > 0 else 0), b1 - (rd if b1 < 12 else 0)
        region = decoded[:, 4 * (e0 - a0) : 4 * (e1 - a0), 4 * (f0 - b0) : 4 * (f1 - b0)]
        local = local_cost(op, region, 4 * e0, 4 * e1, 4 * f0, 4 * f1)
    assert float(local[1] - local[0]) == pytest.approx(full[1] - full[0], rel=1e-4, abs=1e-4)


def test_vqvae_reselect_never_worsens_the_score_it_maximises_with_a_flat_prior() -> None:
    """With λ = 0 each visit picks the code with the least misfit among candidates that include the
    current one, so the whole-image misfit can only go down."""
    torch.manual_seed(0)
    vq = VQVAE(codes=8, dim=4, features=8).eval()
    prior = PixelCNN(levels=8, features=8, blocks=1, first_kernel=3, hidden=8, discrete_input=True).eval()
    x0 = torch.rand(24, 24)
    op = BicubicDownsampling(torch.rand(6, 6), 4)
    with torch.no_grad():
        start = float((op.residual(vq.decode_indices(vq.encode_indices(x0[None, None]))[0, 0]) ** 2).sum())
    out = vqvae_reselect(
        vq,
        prior,
        x0,
        op,
        visit=torch.ones(6, 6, dtype=torch.bool),
        noise=0.01,
        prior_weight=1e-12,
        top_k=8,
        margin=2,
    )
    assert out.shape == (24, 24)
    assert float((op.residual(out) ** 2).sum()) <= start + 1e-6
