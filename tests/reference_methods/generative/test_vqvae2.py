"""VQ-VAE-2: the two quantisers against a brute-force nearest-code search and the straight-through
gradient, the code-map shapes, the bottom prior's causality and its dependence on the top codes, the
windowed misfit against whole-map decoding, and the re-selection's guarantees."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from reference_methods.generative.archs import PixelCNN
from reference_methods.generative.fills import bottom_conditional, candidate_misfits, vqvae2_reselect
from reference_methods.generative.hierarchical import VQVAE2, ConditionalPixelCNN
from reference_methods.generative.patches import Masking
from reference_methods.generative.priors import local_cost


def _vq(seed: int = 0) -> VQVAE2:
    torch.manual_seed(seed)
    net = VQVAE2(top_codes=8, bottom_codes=16, dim=4, features=8).eval()
    with torch.no_grad():  # spread the codebooks so the code choice matters
        for q in (net.quantiser_top, net.quantiser_bottom):
            q.codebook.normal_(0, 1)
        for p in net.parameters():
            p.normal_(0, 0.3)
    return net


@pytest.mark.parametrize("level", ["top", "bottom"])
def test_both_quantisers_pick_the_brute_force_nearest_code_with_a_straight_through_gradient(
    level: str,
) -> None:
    q = getattr(_vq(), f"quantiser_{level}")
    z = torch.randn(2, q.dim, 3, 4, generator=torch.Generator().manual_seed(1), requires_grad=True)
    out, idx, _ = q(z)
    for n in range(2):
        for i in range(3):
            for j in range(4):
                distances = [float(((z[n, :, i, j].detach() - code) ** 2).sum()) for code in q.codebook]
                assert idx[n, i, j] == int(np.argmin(distances))
                # z + (e - z) in float32: e up to rounding
                torch.testing.assert_close(out[n, :, i, j].detach(), q.codebook[idx[n, i, j]])
    weights = torch.randn(out.shape, generator=torch.Generator().manual_seed(2))
    (out * weights).sum().backward()
    assert torch.equal(z.grad, weights)  # d(quantised)/dz = identity


def test_code_maps_are_an_eighth_and_a_quarter_of_the_image_and_decode_to_its_size() -> None:
    net = _vq()
    x = torch.rand(2, 1, 24, 32)
    top, bottom = net.encode_indices(x)
    assert top.shape == (2, 3, 4) and bottom.shape == (2, 6, 8)
    assert net.decode_indices(top, bottom).shape == (2, 1, 24, 32)
    recon, t2, b2, commitment = net(x)
    assert torch.equal(t2, top) and torch.equal(b2, bottom) and commitment.item() >= 0
    with pytest.raises(ValueError, match="divisible by 8"):
        net.encode(torch.rand(1, 1, 20, 24))


def test_the_bottom_codes_depend_on_the_top_codes_in_the_encoder_and_in_the_prior() -> None:
    net = _vq()
    x = torch.rand(1, 1, 32, 32, generator=torch.Generator().manual_seed(3))
    hb, zt = net.encode(x)
    tops = torch.stack([torch.full((4, 4), k) for k in range(8)])
    bottoms = [
        net.quantiser_bottom.indices(net._bottom_input(hb, net.quantiser_top.lookup(t[None]))) for t in tops
    ]
    assert len({tuple(b.flatten().tolist()) for b in bottoms}) > 1
    torch.manual_seed(4)
    prior = ConditionalPixelCNN(levels=16, top_levels=8, features=8, blocks=2, hidden=8).eval()
    bottom = torch.randint(0, 16, (1, 8, 8), generator=torch.Generator().manual_seed(5))
    top = torch.randint(0, 8, (1, 4, 4), generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        before = prior(bottom, top)
        other = top.clone()
        other[0, 3, 3] = (other[0, 3, 3] + 1) % 8  # a top code below-right of (2, 2): still seen
        assert not torch.allclose(prior(bottom, other)[0, :, 2, 2], before[0, :, 2, 2])
        # ... while later bottom codes are not seen (the bottom prior is causal in its own codes).
        later = bottom.clone()
        later[0, 2, 2:] = (later[0, 2, 2:] + 1) % 16
        later[0, 3:] = (later[0, 3:] + 1) % 16
        assert torch.equal(prior(later, top)[0, :, 2, 2], before[0, :, 2, 2])


def test_bottom_conditional_from_a_crop_equals_the_whole_map_prior() -> None:
    torch.manual_seed(7)
    prior = ConditionalPixelCNN(levels=16, top_levels=8, features=8, blocks=2, hidden=8).eval()
    bottom = torch.randint(0, 16, (12, 14), generator=torch.Generator().manual_seed(8))
    top = torch.randint(0, 8, (6, 7), generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        whole = torch.log_softmax(prior(bottom[None], top[None]), dim=1)[0]
        cond = prior.condition(top[None])
        for i, j in [(0, 0), (5, 6), (11, 13), (8, 0), (3, 13)]:
            torch.testing.assert_close(bottom_conditional(prior, bottom, cond, i, j), whole[:, i, j])


@pytest.mark.parametrize(
    "level, cell",
    [("top", (0, 0)), ("top", (2, 3)), ("top", (5, 6)), ("bottom", (0, 13)), ("bottom", (6, 7))],
)
def test_windowed_misfit_differences_equal_whole_map_decoding(level: str, cell: tuple[int, int]) -> None:
    net = _vq()
    h, w = 48, 56
    gen = torch.Generator().manual_seed(10)
    top = torch.randint(0, 8, (h // 8, w // 8), generator=gen)
    bottom = torch.randint(0, 16, (h // 4, w // 4), generator=gen)
    operator = Masking(torch.rand(h, w, generator=gen), np.random.default_rng(11).random((h, w)) < 0.3)
    candidates = torch.arange(5)
    with torch.no_grad():
        local = candidate_misfits(net, operator, top, bottom, level, *cell, candidates)
        whole = []
        for k in candidates:
            t, b = top.clone(), bottom.clone()
            (t if level == "top" else b)[cell] = k
            whole.append(local_cost(operator, net.decode_indices(t[None], b[None])[:, 0], 0, h, 0, w))
        whole = torch.cat(whole)
    assert not torch.allclose(whole, whole[0])  # the candidates do differ
    # Float32 sums of different lengths: equal up to rounding relative to the misfit's size.
    tolerance = 1e-5 * float(whole.abs().max())
    torch.testing.assert_close(local - local[0], whole - whole[0], rtol=0, atol=tolerance)


def test_reselect_with_a_negligible_prior_never_raises_the_known_pixel_misfit() -> None:
    """Each greedy choice includes the current code and is scored on every pixel it can change, so
    with λ ≈ 0 the total misfit cannot go up."""
    net = _vq()
    torch.manual_seed(12)
    top_prior = PixelCNN(levels=8, features=8, blocks=1, first_kernel=3, hidden=8, discrete_input=True).eval()
    bottom_prior = ConditionalPixelCNN(levels=16, top_levels=8, features=8, blocks=1, hidden=8).eval()
    gen = torch.Generator().manual_seed(13)
    truth = torch.rand(24, 32, generator=gen)
    mask = np.zeros((24, 32), bool)
    mask[6:14, 9:20] = True
    operator = Masking(truth, mask)
    x0 = truth.clone()
    x0[torch.from_numpy(mask)] = 0.5
    with torch.no_grad():
        before = float(
            (operator.residual(net.decode_indices(*net.encode_indices(x0[None, None])))[0, 0] ** 2).sum()
        )
    x, top, bottom = vqvae2_reselect(
        net,
        top_prior,
        bottom_prior,
        x0,
        operator,
        visit_bottom=np.ones((6, 8), bool),
        noise=1.0,
        prior_weight=1e-9,
        top_k=8,
    )
    after = float((operator.residual(x) ** 2).sum())
    assert after <= before + 1e-4 and after < before
    assert top.shape == (3, 4) and bottom.shape == (6, 8)
