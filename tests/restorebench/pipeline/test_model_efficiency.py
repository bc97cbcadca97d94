"""Efficiency of model submissions through the real pipeline (API, broker, worker, sandbox): the
sandboxed child counts FLOPs and activations at the track's reference input — an ONNX model's equal
to a count by hand, a safetensors architecture's too — and they reach the submission and the
leaderboard."""

import json

import numpy as np
import pytest
import torch
from django.core.files.uploadedfile import SimpleUploadedFile
from onnx import TensorProto, helper, numpy_helper
from rb_test_helpers import wait_for_submission
from rb_test_models import MANIFEST, give_inputs
from rest_framework.test import APIClient
from restorebench.accounts.services import token_get_or_create
from restorebench.challenges.services import track_update

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]

H, W = 20, 28  # the track's reference input, declared below (smaller than the images: it is not theirs)


def _two_conv_onnx() -> bytes:
    """Conv 3→4 3×3 pad 1 → Relu → Conv 4→3 3×3 pad 1 (+bias): a same-size RGB network."""
    w1 = numpy_helper.from_array(np.full((4, 3, 3, 3), 0.01, np.float32), "w1")
    w2 = numpy_helper.from_array(np.full((3, 4, 3, 3), 0.01, np.float32), "w2")
    b2 = numpy_helper.from_array(np.full(3, 0.4, np.float32), "b2")
    nodes = [
        helper.make_node("Conv", ["input", "w1"], ["h"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("Conv", ["r", "w2", "b2"], ["output"], pads=[1, 1, 1, 1]),
    ]
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, "H", "W"])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 3, "H", "W"])
    graph = helper.make_graph(nodes, "two_conv", [x], [y], [w1, w2, b2])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def _tiny_dncnn_safetensors() -> bytes:
    """DnCNN with 3 channels, depth 3, 4 features; its last convolution zeroed, so it returns its input."""
    from safetensors.torch import save

    from reference_methods.deep.archs import create_arch

    torch.manual_seed(0)
    net = create_arch("dncnn", channels=3, depth=3, features=4).eval()
    with torch.no_grad():
        net.body[-1].weight.zero_()
        net.body[-1].bias.zero_()
    return save(net.state_dict())


@pytest.fixture
def efficient_arena(make_arena, platform_dirs):
    arena = make_arena(images=2)
    track_update(track=arena.track, actor=arena.organizer, efficiency={"input_size": [H, W]})
    arena.phase.refresh_from_db()
    give_inputs(arena, platform_dirs / "storage")
    return arena


def _submit(arena, user, name: str, data: bytes, manifest: dict):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_get_or_create(user=user).key}")
    response = client.post(
        f"/api/phases/{arena.phase.pk}/submissions/model/",
        {"file": SimpleUploadedFile(name, data), "manifest": json.dumps(manifest), "method_name": name},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    return client, response.json()["id"]


def test_an_onnx_models_flops_are_counted_in_the_sandbox_at_the_tracks_reference_input(
    efficient_arena, make_participant, cpu_worker
):
    user, _ = make_participant(efficient_arena)
    client, sid = _submit(efficient_arena, user, "two_conv.onnx", _two_conv_onnx(), MANIFEST)
    submission = wait_for_submission(sid, worker=cpu_worker)
    assert submission.status == "scored", submission.failure_reason
    # By hand: each output element of a k×k convolution costs C_in·k² multiply-adds (one FLOP each)
    conv1, conv2 = H * W * 4 * (3 * 9), H * W * 3 * (4 * 9)
    assert submission.model_flops == conv1 + conv2 == 120_960
    assert submission.model_activations == H * W * (4 + 3)
    counts = submission.model_profile["counts"]
    assert counts["input"] == [1, 3, H, W] and counts["macs"] == conv1 + conv2
    assert counts["zero_cost_ops"] == {"Relu": 1} and counts["uncounted_ops"] == {}
    assert submission.model_profile["libraries"]["onnxruntime"]
    assert "threads" in submission.model_profile["device"]
    assert 0 < submission.model_seconds_per_image_median

    board = client.get(f"/api/phases/{efficient_arena.phase.pk}/leaderboard/").json()
    assert board["reference_input"] == [H, W]
    [row] = board["rows"]
    assert (row["flops"], row["activations"]) == (conv1 + conv2, H * W * 7)
    detail = client.get(f"/api/submissions/{sid}/").json()["model"]
    assert detail["flops"] == conv1 + conv2 and detail["efficiency"]["counts"]["input"] == [1, 3, H, W]


def test_a_safetensors_architectures_flops_are_counted_in_the_sandbox_too(
    efficient_arena, make_participant, cpu_worker
):
    user, _ = make_participant(efficient_arena)
    manifest = {
        **MANIFEST,
        "architecture": "dncnn",
        "architecture_params": {"channels": 3, "depth": 3, "features": 4},
    }
    _, sid = _submit(efficient_arena, user, "dncnn.safetensors", _tiny_dncnn_safetensors(), manifest)
    submission = wait_for_submission(sid, worker=cpu_worker)
    assert submission.status == "scored", submission.failure_reason
    # Conv 3→4, Conv 4→4 (+BatchNorm, folded into it by the inference export), Conv 4→3; all 3×3
    convs = H * W * (4 * 27 + 4 * 36 + 3 * 36)
    assert submission.model_flops == convs == 201_600
    assert submission.model_activations == H * W * (4 + 4 + 3)
    assert submission.model_profile["counts"]["input"] == [1, 3, H, W]
    assert submission.model_profile["libraries"]["torch"] == torch.__version__
