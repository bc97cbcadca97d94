"""The task table: one entry per task, refusing duplicates and contradictions, and importable without
Django, torch or numpy (every package reads it, the lowest layer holds it)."""

import subprocess
import sys

import pytest

from benchdata.tasks import (
    ScoringDefaults,
    TaskError,
    TaskInfo,
    get_task,
    list_tasks,
    register_task,
    scoring_presets,
    task_names,
)


def test_the_table_holds_the_issues_tasks_in_one_spelling_each():
    assert task_names() == ("denoise", "deblur", "sr", "inpaint", "jpeg", "burst_sr", "enhance")
    assert [t.name for t in list_tasks()] == list(task_names())


def test_an_unknown_task_lists_the_valid_ones():
    with pytest.raises(TaskError, match="unknown task 'dehaze'; valid tasks: denoise, deblur, sr"):
        get_task("dehaze")


def test_the_old_super_resolution_spelling_says_what_it_became():
    with pytest.raises(TaskError, match="'super_resolution' is now spelled 'sr'"):
        get_task("super_resolution")


def test_a_duplicate_task_is_refused():
    with pytest.raises(TaskError, match="'denoise' is already registered"):
        register_task(get_task("denoise"))


def test_a_self_contradicting_entry_is_refused_naming_each_problem():
    bad = TaskInfo(
        name="warp",
        label="Warp",
        summary="",
        disclosures=("colour",),
        geometry="scale",
        method_needs=("kernel",),
        scoring=ScoringDefaults(("psnr",), "ssim"),
    )
    with pytest.raises(TaskError) as error:
        register_task(bad)
    message = str(error.value)
    for fragment in (
        "unknown disclosure 'colour'",
        "'kernel' is required or needed",
        "scale disclosure",
        "ranking metric 'ssim'",
    ):
        assert fragment in message
    assert "warp" not in task_names()


def test_output_geometry_follows_the_task():
    assert get_task("denoise").output_size(30, 40) == (30, 40)
    assert get_task("sr").output_size(30, 40, scale=3) == (90, 120)
    assert get_task("burst_sr").output_size(30, 40) == (120, 160)  # its default scale, 4
    assert get_task("burst_sr").multi_frame and not get_task("sr").multi_frame
    with pytest.raises(TaskError, match="needs a scale"):
        get_task("sr").output_size(30, 40)


def test_scoring_conventions_resolve_the_shave_from_the_scale():
    assert get_task("sr").scoring.spec_fields(4)["shave"] == 4
    assert get_task("sr").scoring_variants["ntire"].spec_fields(4)["shave"] == 10
    assert scoring_presets()["sr-ntire"][0] == "sr"
    assert get_task("inpaint").scoring.spec_fields(None)["ranking_metric"] == "lpips"


def test_every_synthetic_task_has_an_example_and_enhance_has_none():
    for info in list_tasks():
        assert (info.example_spec() is not None) == info.synthetic, info.name
    assert not get_task("enhance").synthetic


def test_the_table_imports_without_django_torch_or_numpy():
    code = (
        "import sys, benchdata.tasks as t; t.list_tasks(); "
        "bad = [m for m in ('django', 'torch', 'numpy') if m in sys.modules]; "
        "assert not bad, bad"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
