"""`manage.py ranking_preview`: a bundle track's boards applied to entries from a JSON file, with no
database; the example bundles load and rank as their rules say."""

import json
import math
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

EXAMPLES = Path(__file__).resolve().parents[3] / "platform" / "restorebench" / "bundles" / "examples"
ESR = EXAMPLES / "ntire_efficient_sr.yaml"
IMAGE_SR = EXAMPLES / "ntire_image_sr.yaml"


def run(*args: str) -> str:
    out = StringIO()
    call_command("ranking_preview", *args, stdout=out)
    return out.getvalue()


def write_entries(tmp_path, entries) -> str:
    path = tmp_path / "entries.json"
    path.write_text(json.dumps({"entries": entries}), encoding="utf-8")
    return str(path)


def test_the_efficient_sr_example_ranks_by_the_gate_and_the_exp_formula(tmp_path):
    # Runtime baseline 0.0218 s, FLOPs 9.83e9, parameters 0.151e6 (the bundle's constants).
    half = {"runtime": 0.0109, "flops": 4.915e9, "params": 0.0755e6}
    equal = {"runtime": 0.0218, "flops": 9.83e9, "params": 0.151e6}
    entries = [
        {"team": "half", "scores": {"psnr": 26.95, "ssim": 0.8}, **half},
        {"team": "equal", "scores": {"psnr": 27.3, "ssim": 0.82}, **equal},
        {
            "team": "blurry",
            "scores": {"psnr": 26.5, "ssim": 0.78},
            "runtime": 0.001,
            "flops": 1e6,
            "params": 1000,
        },
        {"team": "zip", "scores": {"psnr": 28.0, "ssim": 0.85}},
    ]
    result = json.loads(
        run(str(ESR), "--track", "esr-x4", "--scores", write_entries(tmp_path, entries), "--json")
    )
    main = result["leaderboards"]["main"]
    assert [(r["team"], r["rank"], r["gated_out"]) for r in main] == [
        ("half", 1, False),
        ("equal", 2, False),
        ("blurry", None, True),
        ("zip", None, False),
    ]
    # half: every ratio is 1/2 -> 0.8 e + 0.1 e + 0.1 e = e; equal: every ratio 1 -> e^2.
    assert main[0]["score"] == pytest.approx(math.e) and main[1]["score"] == pytest.approx(math.e**2)
    assert main[3]["reason"] == "runtime not measured; flops not measured; params not measured"
    fidelity = result["leaderboards"]["fidelity"]
    assert [(r["team"], r["rank"]) for r in fidelity] == [
        ("zip", 1),
        ("equal", 2),
        ("half", 3),
        ("blurry", 4),
    ]
    assert set(result["leaderboards"]) == {"main", "runtime", "params", "flops", "fidelity"}


def test_the_image_sr_example_has_restoration_perceptual_and_overall_boards(tmp_path):
    # Perceptual = (1 - lpips) + (1 - dists) + max(0, (10 - niqe) / 10), by hand:
    entries = [
        {"team": "sharp", "scores": {"psnr": 30.0, "ssim": 0.85, "lpips": 0.10, "dists": 0.08, "niqe": 4.0}},
        {"team": "smooth", "scores": {"psnr": 31.0, "ssim": 0.88, "lpips": 0.25, "dists": 0.15, "niqe": 9.5}},
        {"team": "ok", "scores": {"psnr": 29.0, "ssim": 0.80, "lpips": 0.20, "dists": 0.12, "niqe": 12.0}},
    ]  # sharp 1.82 + 0.6 = 2.42; smooth 1.60 + 0.05 = 1.65; ok 1.68 + 0 (not -0.2: clipped) = 1.68
    result = json.loads(
        run(str(IMAGE_SR), "--track", "sr-x4", "--scores", write_entries(tmp_path, entries), "--json")
    )["leaderboards"]
    assert [r["team"] for r in result["restoration"]] == ["smooth", "sharp", "ok"]
    assert [r["team"] for r in result["perceptual"]] == [
        "sharp",
        "ok",
        "smooth",
    ]  # without the clip: smooth 2nd
    assert [r["score"] for r in result["perceptual"]] == pytest.approx([2.42, 1.68, 1.65])
    # Best rank then mean: smooth (1; 2.0) and sharp (1; 1.5): sharp first; ok (2; 2.5).
    assert [(r["team"], r["rank"]) for r in result["overall"]] == [("sharp", 1), ("smooth", 2), ("ok", 3)]


def test_the_table_output_shows_rank_team_score_and_gate(tmp_path):
    entries = [
        {
            "team": "a",
            "scores": {"psnr": 27.0, "ssim": 0.8},
            "runtime": 0.0109,
            "flops": 4.915e9,
            "params": 0.0755e6,
        },
        {
            "team": "b",
            "scores": {"psnr": 26.0, "ssim": 0.8},
            "runtime": 0.0109,
            "flops": 4.915e9,
            "params": 0.0755e6,
        },
    ]
    text = run(str(ESR), "--track", "esr-x4", "--scores", write_entries(tmp_path, entries))
    assert "Main (runtime, FLOPs, parameters) [main]: score = 0.8*exp(2*runtime/0.0218)" in text
    assert "gate: psnr >= 26.90" in text
    lines = [line.split() for line in text.splitlines()]
    assert ["1", "a", "2.71828", "pass"] in lines
    assert any(line[:3] == ["-", "b", "fail:"] for line in lines)


@pytest.mark.parametrize(
    ("entries", "fragment"),
    [
        ([{"team": "a"}], "entries[0].scores: must be a mapping"),
        ([{"team": "", "scores": {}}], "entries[0].team"),
        ([{"team": "a", "scores": {"psnr": "high"}}], "entries[0].scores.psnr: must be a number"),
        ([{"team": "a", "scores": {}, "runtime": True}], "entries[0].runtime: must be a number"),
        ([{"team": "a", "scores": {}, "speed": 1}], "unknown field(s) ['speed']"),
        ([{"team": "a", "scores": {}, "per_image": {"psnr": 1}}], "entries[0].per_image: must be a list"),
    ],
)
def test_bad_entries_are_refused_naming_the_entry_and_field(tmp_path, entries, fragment):
    with pytest.raises(CommandError) as caught:
        run(str(ESR), "--track", "esr-x4", "--scores", write_entries(tmp_path, entries))
    assert fragment in str(caught.value)


def test_an_unknown_track_or_an_unreadable_file_is_refused(tmp_path):
    with pytest.raises(CommandError, match="no track 'nope'; its tracks: esr-x4"):
        run(str(ESR), "--track", "nope", "--scores", write_entries(tmp_path, []))
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(CommandError, match="--scores: cannot read"):
        run(str(ESR), "--track", "esr-x4", "--scores", str(bad))


def test_a_bundle_with_a_bad_formula_is_refused_with_file_line_and_position(tmp_path):
    text = ESR.read_text(encoding="utf-8").replace(
        'score: "exp(2*runtime/0.0218)"', 'score: "exp(2*runtme/0.0218)"'
    )
    bundle = tmp_path / "esr.yaml"
    bundle.write_text(text, encoding="utf-8")
    line = next(n for n, row in enumerate(text.splitlines(), start=1) if "runtme" in row)
    with pytest.raises(CommandError) as caught:
        run(str(bundle), "--track", "esr-x4", "--scores", write_entries(tmp_path, []))
    message = str(caught.value)
    assert (
        f"esr.yaml:{line}: tracks[0].ranking.leaderboards[1].score: at position 7: unknown name 'runtme'"
        in message
    )
