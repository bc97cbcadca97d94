"""The generative networks: shapes, causality of the PixelCNN masks, exactness of the flow, VQ details."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from reference_methods.generative.archs import (
    VAE,
    VQVAE,
    DCGANDiscriminator,
    DCGANGenerator,
    MaskedConv2d,
    PixelCNN,
    RealNVP,
    VectorQuantiser,
    create_generative,
    list_generative,
)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def test_masked_convolution_kernels_hide_the_centre_only_for_mask_a() -> None:
    a = MaskedConv2d(1, 1, 5, "A").mask[0, 0]
    b = MaskedConv2d(1, 1, 5, "B").mask[0, 0]
    expected_a = torch.zeros(5, 5)
    expected_a[:2] = 1
    expected_a[2, :2] = 1
    assert torch.equal(a, expected_a)
    expected_b = expected_a.clone()
    expected_b[2, 2] = 1
    assert torch.equal(b, expected_b)


@pytest.mark.parametrize("discrete", [False, True])
def test_pixelcnn_output_at_each_pixel_depends_only_on_earlier_pixels(discrete: bool) -> None:
    torch.manual_seed(1)
    h, w = 7, 6
    net = PixelCNN(
        levels=8 if discrete else 256, features=8, blocks=2, first_kernel=5, hidden=8, discrete_input=discrete
    ).double()
    for i in range(h):
        for j in range(w):
            if discrete:
                # Gradients reach the embedding of the code at each position.
                codes = torch.randint(0, 8, (1, h, w))
                emb = net.embed(codes).permute(0, 3, 1, 2).detach().requires_grad_(True)
                out = net.head(net.blocks(net.first(emb)))
                inp = emb
            else:
                inp = torch.rand(1, 1, h, w, dtype=torch.float64, requires_grad=True)
                out = net(inp)
            out[0, :, i, j].sum().backward()
            grad = inp.grad.abs().sum(1)[0]
            order = torch.arange(h * w).view(h, w)
            later = order >= i * w + j
            assert float(grad[later].abs().max()) == 0.0, (i, j)
            if i * w + j > 0:
                assert float(grad[~later].abs().sum()) > 0.0  # it does see something before it


def test_pixelcnn_shapes_and_nll_of_uniform_model_is_log_levels() -> None:
    net = PixelCNN(features=8, blocks=1, first_kernel=3, hidden=8)
    x = torch.rand(2, 1, 9, 11)
    assert net(x).shape == (2, 256, 9, 11)
    torch.nn.init.zeros_(net.head[-1].weight)
    torch.nn.init.zeros_(net.head[-1].bias)
    assert net.nll(x).item() == pytest.approx(math.log(256), rel=1e-6)
    with pytest.raises(ValueError, match="gray images"):
        net(torch.rand(2, 3, 9, 11))


def test_vae_shapes_and_loss_is_finite() -> None:
    net = VAE(size=16, latent=8, features=8)
    x = torch.rand(5, 1, 16, 16)
    mean, log_var = net.encode(x)
    assert mean.shape == (5, 8) and log_var.shape == (5, 8)
    y = net.decode(mean)
    assert y.shape == (5, 1, 16, 16) and float(y.min()) >= 0 and float(y.max()) <= 1
    assert torch.isfinite(net.loss(x))
    with pytest.raises(ValueError, match=r"\(N, 1, 16, 16\)"):
        net.encode(torch.rand(5, 1, 8, 8))


def _tiny_flow() -> RealNVP:
    flow = RealNVP(size=4, hidden=8, checkerboard=2, steps=2).double()
    # Random (non-identity) couplings and actnorms, so the test exercises every term of the log-det.
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return flow


def test_flow_inverse_is_exact() -> None:
    flow = _tiny_flow()
    x = torch.rand(3, 1, 4, 4, dtype=torch.float64) * 0.9 + 0.05
    z, _ = flow(x)
    assert z.shape == x.shape
    assert torch.allclose(flow.inverse(z), x, atol=1e-10, rtol=0)
    # And z -> x -> z, for latents near typical ones (far-out z map to x at the edge of (0, 1)).
    z2 = z + 0.01 * torch.randn_like(z)
    assert torch.allclose(flow(flow.inverse(z2))[0], z2, atol=1e-8, rtol=0)


def test_flow_log_determinant_matches_a_finite_difference_jacobian() -> None:
    flow = _tiny_flow()
    x = torch.rand(1, 1, 4, 4, dtype=torch.float64) * 0.8 + 0.1
    _, logdet = flow(x)
    eps = 1e-6
    jac = np.zeros((16, 16))
    for k in range(16):
        d = torch.zeros(16, dtype=torch.float64)
        d[k] = eps
        plus = flow(x + d.view(1, 1, 4, 4))[0].flatten()
        minus = flow(x - d.view(1, 1, 4, 4))[0].flatten()
        jac[:, k] = ((plus - minus) / (2 * eps)).detach().numpy()
    sign, numeric = np.linalg.slogdet(jac)
    assert sign != 0
    assert float(logdet[0]) == pytest.approx(numeric, abs=1e-5)


def test_flow_log_prob_integrates_a_standard_normal_consistently() -> None:
    """log p(x) = log N(z) + log|det|, with z and log|det| from forward."""
    flow = _tiny_flow()
    x = torch.rand(2, 1, 4, 4, dtype=torch.float64) * 0.8 + 0.1
    z, logdet = flow(x)
    normal = torch.distributions.Normal(0.0, 1.0).log_prob(z).flatten(1).sum(1)
    assert torch.allclose(flow.log_prob(x), normal + logdet)


def test_dcgan_generator_and_discriminator_shapes() -> None:
    g = DCGANGenerator(size=16, latent=12, features=8)
    d = DCGANDiscriminator(size=16, features=8)
    x = g(torch.randn(4, 12))
    assert x.shape == (4, 1, 16, 16) and float(x.min()) >= 0 and float(x.max()) <= 1
    assert d(x).shape == (4,)
    with pytest.raises(ValueError, match="latents"):
        g(torch.randn(4, 5))
    with pytest.raises(ValueError, match="4·2"):
        DCGANGenerator(size=12)


def test_vector_quantiser_picks_the_nearest_code_and_passes_gradients_straight_through() -> None:
    q = VectorQuantiser(codes=5, dim=3)
    q.eval()
    z = torch.randn(2, 3, 4, 4, requires_grad=True)
    out, idx, _ = q(z)
    vectors = z.detach().permute(0, 2, 3, 1).reshape(-1, 3).numpy()
    book = q.codebook.numpy()
    brute = np.argmin(((vectors[:, None, :] - book[None]) ** 2).sum(-1), axis=1)
    assert np.array_equal(idx.flatten().numpy(), brute)
    assert torch.allclose(out, q.lookup(idx))
    out.sum().backward()
    assert torch.allclose(z.grad, torch.ones_like(z))


def test_vqvae_shapes() -> None:
    net = VQVAE(codes=16, dim=4, features=8)
    x = torch.rand(2, 1, 24, 20)
    recon, idx, commitment = net(x)
    assert recon.shape == x.shape and idx.shape == (2, 6, 5) and commitment.dim() == 0
    assert net.decode_indices(idx).shape == x.shape
    with pytest.raises(ValueError, match="divisible by 4"):
        net.encode(torch.rand(1, 1, 10, 12))


def test_vqvae_code_changes_only_reach_pixels_within_the_decoder_radius() -> None:
    torch.manual_seed(3)
    net = VQVAE(codes=16, dim=4, features=8)
    codes = torch.randint(0, 16, (1, 11, 11))
    e = net.quantiser.lookup(codes).detach().requires_grad_(True)
    out = net.decoder(e)
    # Every output pixel's gradient w.r.t. the code vectors: the cells reaching pixel block (5, 5).
    out[0, 0, 20:24, 20:24].sum().backward()
    reach = e.grad.abs().sum(1)[0] > 0
    rows, cols = torch.nonzero(reach, as_tuple=True)
    r = net.decoder_radius
    assert int((rows - 5).abs().max()) <= r and int((cols - 5).abs().max()) <= r


def test_create_generative_lists_the_valid_names_for_an_unknown_one() -> None:
    assert set(list_generative()) >= {"pixelcnn", "vae", "realnvp", "dcgan_generator", "vqvae"}
    assert isinstance(create_generative("vae", size=8, latent=2, features=4), VAE)
    with pytest.raises(ValueError, match="registered: .*pixelcnn"):
        create_generative("stylegan")
