"""The challenge report: the final results as JSON, CSV and a LaTeX table, from the frozen ranking
once revealed; for organizers through the API and a command."""

import csv
import hashlib
import io
import json
from io import StringIO

import pytest
from django.core.management import call_command
from rb_test_helpers import scored_submission
from rest_framework.test import APIClient
from restorebench.challenges.services import track_update
from restorebench.leaderboards.documents import team_documents_submit
from restorebench.leaderboards.report import challenge_report, latex_escape, report_csv, report_latex
from restorebench.leaderboards.services import phase_reveal

PDF = b"%PDF-1.4\n%%EOF\n"

pytestmark = pytest.mark.django_db

RANKING = {
    "leaderboards": [
        {
            "slug": "main",
            "title": "Main",
            "score": "exp(runtime/0.01)",
            "order": "lower_first",
            "gate": "psnr >= 27",
        },
        {"slug": "fidelity", "title": "Fidelity", "metrics": ["psnr", "ssim"]},
    ]
}


@pytest.fixture
def finished(make_arena, make_participant):
    arena = make_arena(images=1)
    track_update(track=arena.track, actor=arena.organizer, ranking=RANKING)
    arena.phase.refresh_from_db()  # its track object is another copy of the row
    user, team = make_participant(arena)
    team.name = "R&D_lab"
    team.save()
    fast = scored_submission(
        arena.phase,
        team,
        {"psnr": 28.0, "ssim": 0.8},
        method_name="TinyNet",
        kind="model",
        model_format="onnx",
        model_manifest={},
        model_seconds_per_image=0.01,
        model_parameters=250_000,
        model_peak_memory_bytes=10**8,
        model_flops=1_600_000_000,
        model_profile={
            "device": "Test CPU (2 threads)",
            "libraries": {"onnxruntime": "1.0"},
            "counts": {"macs": 1_600_000_000, "flops": 1_600_000_000, "activations": 5, "uncounted_ops": {}},
        },
    )
    ref = scored_submission(arena.phase, None, {"psnr": 27.5, "ssim": 0.7}, method_name="bicubic")
    return arena, user, fast, ref


def test_the_report_has_every_board_the_metrics_and_the_measurements(finished):
    arena, user, fast, ref = finished
    team_documents_submit(
        phase=arena.phase, user=user, factsheet=[PDF], code_url="https://x.org/c", extra_data=True
    )
    phase_reveal(phase=arena.phase, actor=arena.organizer)
    report = challenge_report(track=arena.track)
    assert (
        report["frozen"] is True and report["phase"] == arena.phase.slug and len(report["rule_version"]) == 64
    )
    assert [b["slug"] for b in report["boards"]] == ["main", "fidelity"]
    first, second = report["rows"]
    assert (first["rank"], first["team"], first["method"], first["members"]) == (
        1,
        "R&D_lab",
        "TinyNet",
        [user.username],
    )
    assert first["boards"]["main"]["score"] == pytest.approx(2.718281828459045)
    assert first["boards"]["main"]["inputs"] == {"runtime": 0.01, "psnr": 28.0}
    assert first["boards"]["fidelity"]["rank"] == 1
    assert first["metrics"] == {"psnr": 28.0, "ssim": 0.8}
    assert (first["runtime_s_per_image"], first["parameters"], first["peak_memory_bytes"]) == (
        0.01,
        250_000,
        10**8,
    )
    assert (first["flops"], first["macs"], first["activations"]) == (1_600_000_000, 1_600_000_000, 5)
    assert first["device"] == "Test CPU (2 threads)" and first["libraries"] == {"onnxruntime": "1.0"}
    assert report["reference_input"] == [256, 256]  # the task's default: the track declares none
    assert second["flops"] is None and second["device"] is None
    assert (first["extra_data"], first["code_url"], first["code_archive"]) == (True, "https://x.org/c", False)
    assert first["factsheet_sha256"] == hashlib.sha256(PDF).hexdigest()
    assert second["reference"] is True and second["rank"] is None
    assert second["boards"]["main"]["reason"] == "runtime not measured"


def test_csv_and_latex_carry_the_same_rows(finished):
    arena, *_ = finished
    report = challenge_report(track=arena.track)
    assert report["frozen"] is False
    rows = list(csv.reader(io.StringIO(report_csv(report))))
    header = rows[0]
    assert header[:5] == ["rank", "team", "method", "members", "reference"]
    assert rows[1][header.index("main_rank")] == "1" and rows[1][header.index("parameters")] == "250000"
    assert rows[1][header.index("flops")] == "1600000000" and rows[2][header.index("flops")] == ""
    tex = report_latex(report)
    assert r"\begin{tabular}" in tex and r"\toprule" in tex and r"\bottomrule" in tex
    row = r"1 & R\&D\_lab & TinyNet & 2.7183 (1) & 28.0000 (1) & 28.0000 & 0.8000 & 0.0100 & 0.250 & 1.600 \\"
    assert row in tex and "FLOPs (G)" in tex and "FLOPs at a 256x256 input" in tex
    assert latex_escape("50%_{x}") == r"50\%\_\{x\}"


def test_organizers_get_the_report_through_the_api_and_others_do_not(finished):
    arena, user, *_ = finished
    client = APIClient()
    client.force_authenticate(arena.organizer)
    response = client.get(f"/api/tracks/{arena.track.pk}/report.json")
    assert response.status_code == 200 and json.loads(response.content)["rows"][0]["team"] == "R&D_lab"
    assert "report.tex" in client.get(f"/api/tracks/{arena.track.pk}/report.tex")["Content-Disposition"]
    assert client.get(f"/api/tracks/{arena.track.pk}/report.pdf").status_code == 404
    participant = APIClient()
    participant.force_authenticate(user)
    assert participant.get(f"/api/tracks/{arena.track.pk}/report.csv").status_code == 403


def test_the_command_writes_the_report(finished, tmp_path):
    arena, *_ = finished
    out = StringIO()
    call_command("challenge_report", arena.challenge.slug, arena.track.slug, "--format", "json", stdout=out)
    assert json.loads(out.getvalue())["rows"][0]["method"] == "TinyNet"
    target = tmp_path / "r.tex"
    call_command(
        "challenge_report",
        arena.challenge.slug,
        arena.track.slug,
        "--format",
        "tex",
        "--output",
        str(target),
        stdout=StringIO(),
    )
    assert r"\begin{tabular}" in target.read_text()


def test_the_zip_report_holds_every_format_and_the_phases_figures(finished, tmp_path):
    import zipfile

    arena, user, *_ = finished
    client = APIClient()
    client.force_authenticate(arena.organizer)
    response = client.get(f"/api/tracks/{arena.track.pk}/report.zip")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        names = archive.namelist()
        assert {"report.json", "report.csv", "report.tex"} <= set(names)
        figures = [n for n in names if n.startswith("figures/") and n.endswith(".svg")]
        assert any("perception-distortion" in n for n in figures)
        assert all(archive.read(n).startswith(b"<svg") for n in figures)
        assert json.loads(archive.read("report.json"))["rows"][0]["team"] == "R&D_lab"
    target = tmp_path / "report.zip"
    call_command("challenge_report", arena.challenge.slug, arena.track.slug, "--format", "zip",
                 "--output", str(target), stdout=StringIO())  # fmt: skip
    with zipfile.ZipFile(target) as archive:
        assert "report.tex" in archive.namelist()
    participant = APIClient()
    participant.force_authenticate(user)
    assert participant.get(f"/api/tracks/{arena.track.pk}/report.zip").status_code == 403
