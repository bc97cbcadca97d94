"""Every registered architecture: output shapes, a forward pass, and the fixed bicubic stage."""

import numpy as np
import pytest
import torch

from benchdata.resize import imresize
from reference_methods.deep.archs import IPT, IPT_TASKS, bicubic_upsample, create_arch, list_archs

# (name, params, input side, expected scale)
CASES = [
    ("srcnn", {"scale": 2}, 13, 2),
    ("srcnn", {"scale": 4}, 13, 4),
    ("vdsr", {"scale": 3}, 13, 3),
    ("espcn", {"scale": 3}, 13, 3),
    ("srresnet", {"scale": 4}, 13, 4),
    ("srresnet", {"scale": 3}, 13, 3),
    ("dncnn", {}, 21, 1),
    ("rrdbnet", {"scale": 4}, 13, 4),
    ("rrdbnet", {"scale": 3, "blocks": 1}, 13, 3),
    *[("ipt", {"task": t}, 40, 1 if t.startswith("denoise") else int(t[2:])) for t in IPT_TASKS],
]


def test_cases_cover_every_registered_architecture():
    assert {name for name, *_ in CASES} == set(list_archs())


@pytest.mark.parametrize(("name", "params", "side", "scale"), CASES)
def test_forward_pass_has_the_expected_shape_and_is_finite(name, params, side, scale):
    torch.manual_seed(0)
    net = create_arch(name, **params).eval()
    x = torch.rand(2, 1, side, side + (0 if name == "ipt" else 3))
    with torch.no_grad():
        y = net(x)
    assert y.shape == (2, 1, scale * x.shape[2], scale * x.shape[3])
    assert torch.isfinite(y).all()


@pytest.mark.parametrize(("name", "params", "side", "scale"), CASES)
def test_gradients_reach_every_parameter(name, params, side, scale):
    torch.manual_seed(0)
    net = create_arch(name, **params).train()
    x = torch.rand(2, 1, side, side)
    net(x).square().mean().backward()
    unused = [n for n, p in net.named_parameters() if p.grad is None]
    if name == "ipt":  # only the selected task's head, tail and embedding row are used
        task = params["task"]
        unused = [n for n in unused if not (n.startswith(("heads.", "tails.")) and f".{task}." not in n)]
    assert unused == []


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_bicubic_stage_equals_matlab_imresize(scale):
    x = np.random.default_rng(scale).random((11, 14))
    ours = bicubic_upsample(torch.from_numpy(x)[None, None], scale)[0, 0].numpy()
    np.testing.assert_allclose(ours, imresize(x, float(scale)), atol=1e-6)


def test_dncnn_returns_input_minus_predicted_noise():
    net = create_arch("dncnn").eval()
    x = torch.rand(1, 1, 16, 16)
    with torch.no_grad():
        np.testing.assert_allclose(net(x).numpy(), (x - net.body(x)).numpy(), atol=1e-6)


def test_multi_scale_models_share_weights_across_scales():
    a, b = create_arch("vdsr", scale=2), create_arch("vdsr", scale=4)
    assert a.state_dict().keys() == b.state_dict().keys()
    assert all(a.state_dict()[k].shape == b.state_dict()[k].shape for k in a.state_dict())


def test_ipt_refuses_other_input_sizes_and_tasks():
    with pytest.raises(ValueError, match="40×40"):
        IPT()(torch.zeros(1, 1, 32, 32))
    with pytest.raises(ValueError, match="not one of"):
        IPT(task="deblur")


def test_unknown_architecture_lists_the_registered_ones():
    with pytest.raises(ValueError, match="registered: dncnn, espcn, ipt"):
        create_arch("edsr")


def test_rrdbnet_is_bicubic_plus_a_learned_residual_with_dense_connections():
    torch.manual_seed(0)
    net = create_arch("rrdbnet", scale=4, features=8, growth=4, blocks=1).eval()
    # Dense block: conv k reads the input and the k earlier outputs (features + k·growth channels).
    block = net.blocks[0].body[0]
    assert [c.in_channels for c in block.convs] == [8, 12, 16, 20, 24]
    assert [c.out_channels for c in block.convs] == [4, 4, 4, 4, 8]
    with torch.no_grad():
        net.tail.weight.zero_()
        net.tail.bias.zero_()
        x = torch.rand(1, 1, 9, 11)
        np.testing.assert_allclose(net(x).numpy(), bicubic_upsample(x, 4).numpy(), atol=1e-6)
