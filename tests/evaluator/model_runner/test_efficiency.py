"""The sandboxed child counts a model's FLOPs at the reference input: a fixed-size model by its tiles,
a non-blind model with its kernel input, and an operator it cannot count is listed (the run still
succeeds), never silently zero."""

import numpy as np
from onnx import TensorProto, helper
from PIL import Image

from evaluator.model_runner import run_model_submission

DENOISE_GRAY = {"task": "denoise", "color": "gray"}


def test_a_fixed_size_model_is_counted_per_tile_times_the_tiles_covering_the_reference_input(
    tmp_path, models, gray_inputs
):
    manifest = {**DENOISE_GRAY, "tile_size": 32, "tile_overlap": 8}
    report = run_model_submission(
        models.box_blur(fixed_hw=(32, 32)), manifest, gray_inputs, tmp_path / "out", reference_input=(56, 40)
    )
    assert report.ok, report.error
    counts = report.profile["counts"]
    # 56 rows need tiles at 0 and 24, 40 columns tiles at 0 and 8: 4 tiles of 32×32, each output pixel
    # of the 3×3 one-channel convolution costing 9 multiply-adds
    assert (counts["tiles"], counts["counted_input"], counts["input"]) == (4, [1, 1, 32, 32], [1, 1, 56, 40])
    assert counts["flops"] == counts["macs"] == 4 * 32 * 32 * 9
    assert counts["activations"] == 4 * 32 * 32


def test_an_operator_it_cannot_count_is_listed_and_the_run_still_scores(tmp_path, models, gray_inputs):
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, "H", "W"])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 1, "H", "W"])
    graph = helper.make_graph([helper.make_node("Hardmax", ["input"], ["output"], axis=1)], "hm", [x], [y])
    path = tmp_path / "hardmax.onnx"
    path.write_bytes(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()
    )
    report = run_model_submission(path, DENOISE_GRAY, gray_inputs, tmp_path / "out", reference_input=(16, 16))
    assert report.ok, report.error
    assert report.profile["counts"]["uncounted_ops"] == {"Hardmax": 1}


def test_a_non_blind_model_is_counted_with_its_kernel_input(tmp_path, models):
    public = tmp_path / "public"
    (public / "inputs").mkdir(parents=True)
    (public / "kernels").mkdir()
    Image.fromarray(np.full((12, 10), 128, np.uint8)).save(public / "inputs" / "a.png")
    np.save(public / "kernels" / "a.npy", np.full((5, 3), 1 / 15))
    manifest = {"task": "deblur", "color": "gray", "kernel_input": True}
    report = run_model_submission(
        models.kernel_conv(), manifest, public, tmp_path / "out", reference_input=(20, 24)
    )
    assert report.ok, report.error
    # the image convolved with the 5×3 kernel: 15 multiply-adds per output pixel
    assert report.profile["counts"]["flops"] == 20 * 24 * 15
