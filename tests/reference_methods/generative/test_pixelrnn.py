"""PixelRNN (Row LSTM): causality by perturbation and gradients, the row-by-row state equals the
whole-image network, and the raster fill equals a brute-force refill with the whole network."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from reference_methods.generative.fills import pixelrnn_fill
from reference_methods.generative.pixelrnn import PixelRNN


def _model(seed: int = 0) -> PixelRNN:
    torch.manual_seed(seed)
    return PixelRNN(features=8, hidden=8, layers=2).eval()


def test_row_lstm_output_never_depends_on_later_pixels() -> None:
    model = _model()
    x = torch.rand(1, 1, 9, 10, generator=torch.Generator().manual_seed(1))
    i, j = 4, 5
    with torch.no_grad():
        before = model(x)[0, :, i, j]
        for later in [(i, j), (i, j + 1), (i, 9), (i + 1, 0), (i + 1, j), (8, 9)]:
            moved = x.clone()
            moved[0, 0, later[0], later[1]] = 1.0 - moved[0, 0, later[0], later[1]]
            assert torch.equal(model(moved)[0, :, i, j], before), later
        # An earlier pixel does change it (so the check above can fail).
        moved = x.clone()
        moved[0, 0, i, j - 1] = 1.0 - moved[0, 0, i, j - 1]
        assert not torch.allclose(model(moved)[0, :, i, j], before)


def test_row_lstm_gradient_is_zero_on_and_after_the_pixel_and_reaches_far_rows_above() -> None:
    """The recurrence carries the whole triangle above: pixel (0, 5) reaches output (10, 5) though a
    CNN of this depth (7×7 then two 3×3 layers) reaches only 5 rows up."""
    model = _model()
    x = torch.rand(1, 1, 12, 11, generator=torch.Generator().manual_seed(2)).requires_grad_(True)
    model(x)[0, :, 10, 5].sum().backward()
    grad = x.grad[0, 0]
    later = torch.zeros_like(grad, dtype=torch.bool)
    later[10, 5:] = True
    later[11:] = True
    assert torch.count_nonzero(grad[later]) == 0
    assert grad[0, 5].abs() > 0


def test_step_row_gives_exactly_the_rows_of_the_whole_image_forward() -> None:
    model = _model()
    x = torch.rand(2, 1, 7, 9, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        whole = model(x)
        state = model.initial_state(2, 9, x.device)
        rows = []
        for r in range(7):
            logits, state = model.step_row(x[:, :, r], state)
            rows.append(logits)
    torch.testing.assert_close(torch.stack(rows, dim=2), whole, rtol=0, atol=1e-5)


def test_raster_fill_equals_a_brute_force_refill_with_the_whole_network() -> None:
    model = _model(4)
    rng = np.random.default_rng(5)
    # Wider than a step's crop (2 · row_reach + 1 = 15 columns), so the crops are exercised.
    image = torch.from_numpy(rng.random((8, 26)).astype(np.float32))
    mask = np.zeros((8, 26), bool)
    mask[2:5, 3:7] = True
    mask[3:6, 12:22] = True
    mask[7, 0] = True
    mask[7, 25] = True
    out = pixelrnn_fill(model, image, mask, directions=1, fill="mean")
    # Reference: the whole network rerun for every missing pixel, in raster order.
    ref = torch.where(torch.from_numpy(mask), torch.zeros_like(image), image)
    levels = torch.arange(256, dtype=torch.float32) / 255
    with torch.no_grad():
        for i, j in zip(*np.nonzero(mask), strict=True):
            p = F.softmax(model(ref[None, None])[0, :, i, j], dim=0)
            ref[i, j] = (p * levels).sum()
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-5)
    assert torch.equal(out[~torch.from_numpy(mask)], image[~torch.from_numpy(mask)])


def test_four_direction_fill_keeps_known_pixels_and_averages_flipped_fills() -> None:
    model = _model(6)
    image = torch.from_numpy(np.random.default_rng(7).random((6, 7)).astype(np.float32))
    mask = np.zeros((6, 7), bool)
    mask[2:4, 2:5] = True
    out = pixelrnn_fill(model, image, mask, directions=4, fill="mode")
    known = ~torch.from_numpy(mask)
    assert torch.equal(out[known], image[known])
    flips = []
    for dims in ((), (1,), (0,), (0, 1)):
        flipped = pixelrnn_fill(
            model,
            image.flip(dims) if dims else image,
            np.flip(mask, dims) if dims else mask,
            directions=1,
            fill="mode",
        )
        flips.append(flipped.flip(dims) if dims else flipped)
    torch.testing.assert_close(out, torch.stack(flips).mean(0))
