"""Deep metrics in tiles: the tiles' cores reassemble the whole-image feature maps exactly, and LPIPS /
DISTS computed in tiny tiles equal the whole-image computation (≤ 1e-6)."""

import pytest
import torch
from torch import nn

from evaluator.metrics import create_metric
from evaluator.metrics.dists import DISTSNetwork
from evaluator.metrics.lpips import LPIPSNetwork
from evaluator.metrics.tiling import Field, TilePlan, check_tile, map_sizes, receptive_fields, tiled_maps
from evaluator.weights import lpips_provisioned


def test_alexnet_receptive_fields_match_a_hand_count():
    # conv1 k11 s4 p2: left 2, right 8, stride 4; pool k3 s2: right += 4·2; conv2 k5 p2 at stride 8: ±16;
    # pool: right += 8·2, stride 16; conv3..5 k3 p1 at stride 16: ±16 each.
    with torch.device("meta"):
        layers = list(LPIPSNetwork("alex").features)
    fields = receptive_fields(layers, (1, 4, 7, 9, 11))
    assert fields == {
        1: Field(4, 2, 8),
        4: Field(8, 18, 32),
        7: Field(16, 34, 64),
        9: Field(16, 50, 80),
        11: Field(16, 66, 96),
    }
    assert TilePlan.for_layers(layers, (1, 4, 7, 9, 11), 100) == TilePlan(tile=96, halo=96, step=16)


def test_dists_l2_pooling_counts_in_the_receptive_field():
    with torch.device("meta"):
        layers = list(DISTSNetwork().features)
    # VGG16 to relu5_3: 13 3×3 convs and four 3×3 stride-2 pad-1 L2 poolings.
    # each 3×3 layer adds its input stride on both sides: 2·1 + 1 + 2·2 + 2 + 3·4 + 4 + 3·8 + 8 + 3·16 = 105
    field = receptive_fields(layers, (29,))[29]
    assert field == Field(16, 105, 105)


def _toy_trunk() -> tuple[nn.Sequential, tuple[int, ...]]:
    torch.manual_seed(0)
    layers = nn.Sequential(
        nn.Conv2d(2, 4, 5, stride=2, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(3, stride=2),
        nn.Conv2d(4, 3, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(3, 3, 3, stride=2, padding=0),
    ).double()
    return layers, (1, 4, 5)


def _run_taps(layers: nn.Sequential, taps: tuple[int, ...], x: torch.Tensor) -> list[torch.Tensor]:
    out = []
    for i, layer in enumerate(layers):
        x = layer(x)
        if i in taps:
            out.append(x)
    return out


@pytest.mark.parametrize("height, width, tile", [(97, 130, 16), (64, 64, 8), (150, 71, 24), (40, 33, 200)])
def test_tile_cores_reassemble_every_whole_image_feature_map_exactly(height, width, tile):
    layers, taps = _toy_trunk()
    x = torch.rand(2, 2, height, width, dtype=torch.float64)
    whole = _run_taps(layers, taps, x)
    plan = TilePlan.for_layers(list(layers), taps, tile)
    fields = list(receptive_fields(list(layers), taps).values())
    n_cols = len(plan.spans(width))
    pieces = list(tiled_maps([x], lambda t: _run_taps(layers, taps, t), fields, plan))
    for k, expected in enumerate(whole):
        rows = [
            torch.cat([p[0][k] for p in pieces[r : r + n_cols]], dim=-1)
            for r in range(0, len(pieces), n_cols)
        ]
        assembled = torch.cat(rows, dim=-2)
        assert assembled.shape == expected.shape
        assert torch.allclose(assembled, expected, rtol=0, atol=1e-12)
    assert map_sizes(list(layers), taps, height, width) == [m.shape[-2] * m.shape[-1] for m in whole]


def test_a_tile_option_below_16_pixels_is_refused():
    assert check_tile(0) == 0 and check_tile(512) == 512
    for bad in (8, -1, 1.5, True):
        with pytest.raises(ValueError, match="tile must be"):
            check_tile(bad)


@pytest.mark.parametrize("name, tile", [("lpips", 64), ("lpips_vgg", 96), ("dists", 96)])
def test_deep_metrics_in_tiny_tiles_equal_the_whole_image_computation(name, tile):
    assert lpips_provisioned(), "LPIPS/DISTS weights are not provisioned: run scripts/bootstrap.sh"
    g = torch.Generator().manual_seed(3)
    gt = torch.rand(2, 3, 240, 232, generator=g, dtype=torch.float64)
    pred = (gt + 0.15 * torch.randn(gt.shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    whole = create_metric(name, device="cpu", tile=0)
    tiled = create_metric(name, device="cpu", tile=tile)
    plan_spans = TilePlan.for_layers(list(tiled.model.features), tiled.model.taps, tile).spans(240)
    assert any(0 < start for start, *_ in plan_spans), "the tiles must really cut the image"
    a, b = whole(pred, gt), tiled(pred, gt)
    assert a.shape == b.shape == (2,) and (a > 0.01).all()
    assert torch.allclose(a, b, rtol=0, atol=1e-6)
    assert tiled.record()["options"]["tile"] == tile
