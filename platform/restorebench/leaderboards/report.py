"""The challenge report of a track: the final results as NTIRE challenge reports tabulate them, as
JSON, CSV and a LaTeX table (organizers; `GET /api/tracks/<id>/report.<fmt>`, `manage.py
challenge_report`).

The results are the phase's frozen ranking when it was revealed, else the live one (the report says
which). One row per entry in the order of the first board: every board's rank, score and formula
inputs, the metrics, and what was measured of model entries (runtime per image, parameters, FLOPs at
the track's reference input, peak memory, with the device and library versions that measured them),
and from the team's documents (documents.py) the extra-data flag, the code link and whether a
factsheet and a code archive were given (with the factsheet's SHA-256; the files stay with the
organizers).
"""

import json

from restorebench.accounts.models import TeamMembership
from restorebench.challenges.models import Phase, Track
from restorebench.challenges.track_efficiency import track_reference_input
from restorebench.csv_export import csv_text
from restorebench.leaderboards.models import LeaderboardReveal, TeamDocuments
from restorebench.leaderboards.selectors import leaderboards_compute
from restorebench.submissions.models import Submission

FORMATS = ("json", "csv", "tex", "zip")


def report_phase(track: Track) -> Phase | None:
    """The phase a report is about: the track's last phase (the final test phase)."""
    return track.phases.order_by("-order", "-starts_at", "-id").first()


def _measured(submission_ids: list[int], compute: str) -> dict[int, dict]:
    """Model entries: the device that measured them and the efficiency record's details."""
    rows = Submission.objects.filter(pk__in=submission_ids, kind="model").values_list(
        "pk", "current_job__model_run", "model_profile", "model_seconds_per_image_median"
    )
    out = {}
    for pk, run, profile, median in rows:
        provider = (run or {}).get("provider") if isinstance(run, dict) else None
        profile = profile if isinstance(profile, dict) else {}
        counts = profile.get("counts") if isinstance(profile.get("counts"), dict) else {}
        device = profile.get("device") or (f"{compute}, {provider}" if provider else compute)
        out[pk] = {
            "device": device,
            "runtime_s_per_image_median": median,
            "macs": counts.get("macs") if not counts.get("uncounted_ops") else None,
            "activations": counts.get("activations"),
            "uncounted_ops": counts.get("uncounted_ops")
            or ({"error": counts["error"]} if "error" in counts else {}),
            "libraries": profile.get("libraries") or {},
        }
    return out


def challenge_report(*, track: Track, phase: Phase | None = None) -> dict:
    phase = phase or report_phase(track)
    if phase is None:
        return {
            "challenge": track.challenge.slug,
            "track": track.slug,
            "phase": None,
            "boards": [],
            "rows": [],
        }
    reveal = LeaderboardReveal.objects.filter(phase=phase).first()
    boards = (
        reveal.boards if reveal else {s: b.as_dict() for s, b in leaderboards_compute(phase=phase).items()}
    )
    first = next(iter(boards.values()))
    team_ids = {row["team_id"] for row in first["rows"] if row["team_id"] is not None}
    members: dict[int, list[str]] = {}
    for team_id, name in (
        TeamMembership.objects.filter(team_id__in=team_ids)
        .order_by("user__username")
        .values_list("team_id", "user__username")
    ):
        members.setdefault(team_id, []).append(name)
    measured = _measured([row["submission_id"] for row in first["rows"]], track.compute)
    documents = {d.team_id: d for d in TeamDocuments.objects.filter(phase=phase, team_id__in=team_ids)}
    by_board = {slug: {r["submission_id"]: r for r in board["rows"]} for slug, board in boards.items()}
    metrics = list(dict.fromkeys(m for board in boards.values() for m in board["metrics"]))
    rows = []
    for row in first["rows"]:
        sid = row["submission_id"]
        rows.append(
            {
                "rank": row["rank"],
                "team": row["team_name"] or "",
                "method": row["method_name"],
                "members": members.get(row["team_id"], []),
                "reference": row["is_reference"],
                "submission": sid,
                "boards": {
                    slug: {
                        key: entries[sid].get(key)
                        for key in ("rank", "score", "gated_out", "reason", "inputs", "ranks")
                    }
                    for slug, entries in by_board.items()
                    if sid in entries
                },
                "metrics": {m: row["scores"].get(m) for m in metrics},
                "runtime_s_per_image": row["seconds_per_image"],
                "parameters": row["parameters"],
                # Frozen boards from before FLOPs were measured have no such key.
                "flops": row.get("flops"),
                "peak_memory_bytes": row["peak_memory_bytes"],
                **MEASURED_DEFAULTS,
                **measured.get(sid, {}),
                **_documents(documents.get(row["team_id"])),
            }
        )
    return {
        "challenge": track.challenge.slug,
        "track": track.slug,
        "phase": phase.slug,
        "frozen": reveal is not None,
        "revealed_at": reveal.revealed_at.isoformat() if reveal else None,
        "rule_version": reveal.rule_version if reveal else None,
        "boards": [
            {"slug": b["slug"], "title": b["title"], "description": b["description"]} for b in boards.values()
        ],
        "metrics": metrics,
        "reference_input": list(track_reference_input(track)),
        "rows": rows,
    }


def _documents(documents: TeamDocuments | None) -> dict:
    return {
        "extra_data": documents.extra_data if documents else None,
        "code_url": documents.code_url if documents else "",
        "code_archive": bool(documents and documents.code_archive_path),
        "factsheet_sha256": (documents.factsheet_sha256 or None) if documents else None,
    }


MEASURED_DEFAULTS = {
    "device": None,
    "runtime_s_per_image_median": None,
    "macs": None,
    "activations": None,
    "uncounted_ops": {},
    "libraries": {},
}
DOCUMENT_COLUMNS = ("extra_data", "code_url", "code_archive", "factsheet_sha256")


def _cell(value: object) -> object:
    return "" if value is None else value


def report_csv(report: dict) -> str:
    slugs = [b["slug"] for b in report["boards"]]
    header = ["rank", "team", "method", "members", "reference"]
    header += [f"{s}_{part}" for s in slugs for part in ("rank", "score", "note")]
    header += [
        *report["metrics"],
        "runtime_s_per_image",
        "runtime_s_per_image_median",
        "parameters",
        "flops",
        "activations",
        "peak_memory_bytes",
        "device",
    ]
    rows = [header]
    for row in report["rows"]:
        cells = [_cell(row["rank"]), row["team"], row["method"], " ".join(row["members"]), row["reference"]]
        for slug in slugs:
            board = row["boards"].get(slug, {})
            cells += [_cell(board.get("rank")), _cell(board.get("score")), _cell(board.get("reason"))]
        cells += [_cell(row["metrics"].get(m)) for m in report["metrics"]]
        cells += [
            _cell(row[k])
            for k in (
                "runtime_s_per_image",
                "runtime_s_per_image_median",
                "parameters",
                "flops",
                "activations",
                "peak_memory_bytes",
                "device",
            )
        ]
        rows.append(cells)
    return csv_text(rows)  # spreadsheet-safe: a team named "=..." is text


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def _number(value: object, digits: int = 4) -> str:
    if value is None or value == "":
        return "--"
    if isinstance(value, str):
        return latex_escape(value)
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def report_latex(report: dict) -> str:
    """A booktabs table: rank, team, method, each board's score (rank), the metrics, runtime, params,
    FLOPs (at the track's reference input, in the comment line)."""
    boards = report["boards"]
    metrics = report["metrics"]
    columns = "rll" + "r" * (len(boards) + len(metrics) + 3)
    head = ["Rank", "Team", "Method", *(latex_escape(b["title"]) for b in boards)]
    head += [latex_escape(m.upper()) for m in metrics] + ["Runtime (s)", "Params (M)", "FLOPs (G)"]
    size = report.get("reference_input")
    lines = [
        f"% {latex_escape(report['challenge'])} / {latex_escape(report['track'])} / {report['phase']}"
        + (f", frozen {report['revealed_at']}" if report.get("frozen") else ", live (not revealed)")
        + (f"; FLOPs at a {size[0]}x{size[1]} input" if size else ""),
        r"\begin{tabular}{" + columns + "}",
        r"\toprule",
        " & ".join(head) + r" \\",
        r"\midrule",
    ]
    for row in report["rows"]:
        team = latex_escape(row["team"] or "baseline")
        cells = [str(row["rank"]) if row["rank"] is not None else "--", team, latex_escape(row["method"])]
        for board in boards:
            entry = row["boards"].get(board["slug"], {})
            score = _number(entry.get("score"))
            cells.append(f"{score} ({entry['rank']})" if entry.get("rank") is not None else score)
        cells += [_number(row["metrics"].get(m)) for m in metrics]
        params, flops = row["parameters"], row.get("flops")
        cells += [
            _number(row["runtime_s_per_image"]),
            "--" if params is None else f"{params / 1e6:.3f}",
            "--" if flops is None else f"{flops / 1e9:.3f}",
        ]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(lines)


def report_render(report: dict, fmt: str) -> str:
    """One text format (`report_archive` makes the zip)."""
    if fmt == "json":
        return json.dumps(report, indent=1, default=str)
    if fmt == "csv":
        return report_csv(report)
    return report_latex(report)


def report_archive(*, track: Track, phase: Phase | None = None) -> bytes:
    """The whole report in one zip: report.json, report.csv, report.tex and the phase's figures
    (figures/*.svg, the ones the plots page draws, from the organizers' view)."""
    import io
    import re
    import zipfile

    from restorebench.leaderboards.figures import phase_figures

    report = challenge_report(track=track, phase=phase)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for fmt in ("json", "csv", "tex"):
            archive.writestr(f"report.{fmt}", report_render(report, fmt))
        phase = phase or report_phase(track)
        for i, figure in enumerate(phase_figures(phase=phase) if phase else [], 1):
            name = re.sub(r"[^a-z0-9]+", "-", figure["title"].lower()).strip("-")
            archive.writestr(f"figures/{i:02d}-{name}.svg", figure["svg"])
    return buffer.getvalue()
