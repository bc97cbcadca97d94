"""`restorebench login | download | submit | status | score` (docs/cli.md).

Exit status: 0 done (a submission scored), 1 refused or failed (the reason is printed), 2 bad usage or
not logged in, 3 an upload interrupted (run the same command again: it resumes).
"""

import argparse
import getpass
import hashlib
import json
import os
import sys
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

from restorebench_client import config
from restorebench_client.http import Api, ApiError

DONE, FAILED, USAGE, INTERRUPTED = 0, 1, 2, 3
FINISHED = ("scored", "failed", "cancelled")


def _say(*parts: object) -> None:
    print(*parts, file=sys.stderr)


class UsageError(Exception):
    """Bad usage or missing login: exit status 2."""


def _api(args: argparse.Namespace, *, need_token: bool = True) -> Api:
    saved = config.credentials()
    server = (args.server or os.environ.get("RESTOREBENCH_SERVER") or saved.get("server") or "").rstrip("/")
    if not server:
        raise UsageError("no server: pass --server URL (or log in first)")
    token = os.environ.get("RESTOREBENCH_TOKEN") or (
        saved.get("token") if saved.get("server") == server else None
    )
    if need_token and not token:
        raise UsageError(f"not logged in to {server}: run restorebench --server {server} login")
    return Api(server, token)


def _usage(message: str) -> int:
    _say(f"restorebench: {message}")
    return USAGE


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- login / download -------------------------------------------------------------------------------


def cmd_login(args: argparse.Namespace) -> int:
    api = _api(args, need_token=False)
    username = args.username or input("user name: ")
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("password: ")
    answer = api.post("/api/auth/token/", {"username": username, "password": password})
    config.save_credentials(server=api.server, token=answer["token"], username=username)
    _say(f"logged in to {api.server} as {username}")
    return DONE


def cmd_download(args: argparse.Namespace) -> int:
    api = _api(args)
    phase = api.get(f"/api/phases/{args.phase}/")
    target = Path(args.to or f"phase-{args.phase}")
    target.mkdir(parents=True, exist_ok=True)
    _fetch_zip(api, f"/api/phases/{args.phase}/inputs.zip", target / "inputs")
    spec = api.get(f"/api/phases/{args.phase}/scoring-spec.json")
    (target / "scoring-spec.json").write_text(json.dumps(spec, indent=2, sort_keys=True))
    public = not phase.get("hidden_ground_truth") and phase.get("has_ground_truth", True)
    if not phase.get("has_ground_truth", True):
        _say("ground truth: none in this phase (no-reference metrics judge each restored image alone)")
    elif not public:
        _say("ground truth: hidden in this phase (not downloadable)")
    else:
        _fetch_zip(api, f"/api/phases/{args.phase}/ground-truth.zip", target / "ground_truth")
    _say(
        f"phase {args.phase} ({phase.get('title', '')}) is in {target}/: inputs/, scoring-spec.json"
        + (", ground_truth/" if public else "")
    )
    return DONE


def _fetch_zip(api: Api, path: str, folder: Path) -> None:
    archive = folder.with_name(folder.name + ".zip")
    api.download(path, archive)
    with zipfile.ZipFile(archive) as zf:
        root = folder.resolve()
        for member in zf.infolist():
            destination = (folder / member.filename).resolve()
            if not destination.is_relative_to(root):  # never write outside the folder
                raise ApiError(0, f"{archive.name}: member {member.filename!r} points outside the folder")
        zf.extractall(folder)
    archive.unlink()


# --- submit -------------------------------------------------------------------------------------------


def cmd_submit(args: argparse.Namespace) -> int:
    api = _api(args)
    file = Path(args.file)
    if not file.is_file():
        return _usage(f"{file}: no such file")
    size, sha256 = file.stat().st_size, _sha256(file)
    key = config.upload_key(api.server, args.phase, sha256)
    upload = _resumable_upload(api, key)
    if upload is None:
        upload = api.post(
            f"/api/phases/{args.phase}/uploads/create/",
            {"filename": file.name, "total_bytes": size, "sha256": sha256},
        )
        config.remember_upload(key, upload["id"])
    elif upload["received_bytes"]:
        _say(f"resuming {file.name} at {upload['received_bytes']:,} of {size:,} bytes")
    try:
        _send_chunks(api, upload, file, chunk=max(1, int(args.chunk_mb * (1 << 20))))
    except ApiError as error:
        if error.status == 0:
            _say(f"restorebench: upload interrupted ({error.message}); run the same command again to resume")
            return INTERRUPTED
        raise
    details = {"method_name": args.method_name or "", "description": args.description or ""}
    if args.runtime is not None:
        details["runtime_per_mp"] = args.runtime
    submission = api.post(f"/api/uploads/{upload['id']}/complete/", details)
    config.remember_upload(key, None)
    _say(f"submitted: submission {submission['id']} ({submission['status']})")
    if args.no_wait:
        print(json.dumps({"submission": submission["id"], "status": submission["status"]}))
        return DONE
    return _follow(api, submission["id"], timeout=args.timeout)


def _resumable_upload(api: Api, key: str) -> dict | None:
    upload_id = config.pending_upload(key)
    if upload_id is None:
        return None
    try:
        upload = api.get(f"/api/uploads/{upload_id}/")
    except ApiError as error:
        if error.status == 0:
            raise
        upload = None
    if upload is None or upload.get("status") != "open":
        config.remember_upload(key, None)
        return None
    return upload


def _send_chunks(api: Api, upload: dict, file: Path, *, chunk: int) -> None:
    from tqdm import tqdm

    total, offset = upload["total_bytes"], upload["received_bytes"]
    with (
        open(file, "rb") as f,
        tqdm(
            total=total,
            initial=offset,
            unit="B",
            unit_scale=True,
            desc=file.name,
            file=sys.stderr,
            disable=not sys.stderr.isatty(),
        ) as bar,
    ):
        while offset < total:
            f.seek(offset)
            data = f.read(chunk)
            try:
                answer = api.put_bytes(f"/api/uploads/{upload['id']}/chunk/?offset={offset}", data)
            except ApiError as error:
                if error.status != 400 or "offset" not in error.message:
                    raise
                answer = api.get(f"/api/uploads/{upload['id']}/")  # a lost answer: continue where it is
            bar.update(answer["received_bytes"] - offset)
            offset = answer["received_bytes"]


# --- status -------------------------------------------------------------------------------------------


def cmd_status(args: argparse.Namespace) -> int:
    return _follow(_api(args), args.submission, timeout=args.timeout if args.wait else 0)


def _follow(api: Api, submission_id: int, *, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    last = None
    while True:
        submission = api.get(f"/api/submissions/{submission_id}/")
        status = submission["status"]
        progress = (submission.get("evaluation") or {}).get("progress") or {}
        line = f"submission {submission_id}: {status}"
        if progress and status == "running":
            line += f" ({progress.get('done')} of {progress.get('total')})"
        if line != last:
            _say(line)
            last = line
        if status in FINISHED or time.monotonic() >= deadline:
            break
        time.sleep(1.0)
    print(json.dumps({"submission": submission_id, "status": status, "scores": submission.get("scores")}))
    if status == "scored":
        return DONE
    if status in ("failed", "cancelled"):
        _say(f"restorebench: submission {submission_id} {status}: {submission.get('failure_reason') or ''}")
        return FAILED
    _say(f"restorebench: still {status}; see restorebench status {submission_id} --wait")
    return DONE


# --- score --------------------------------------------------------------------------------------------


def _scored_against(phase_dir: Path, spec: Path) -> Path:
    """The downloaded folder a phase is scored against: its ground truth, or for a phase without ground
    truth (the spec says `ground_truth: false`) its inputs, which name and size the restored images."""
    try:
        with_truth = json.loads(spec.read_text(encoding="utf-8")).get("ground_truth", True) is not False
    except (OSError, ValueError, AttributeError) as error:
        raise UsageError(f"{spec}: not a scoring spec ({error})") from None
    if with_truth:
        gt = phase_dir / "ground_truth"
        if not gt.is_dir():
            raise UsageError(f"{gt}: missing (a phase with hidden ground truth cannot be scored locally)")
        return gt
    inputs = phase_dir / "inputs"
    if not inputs.is_dir():
        raise UsageError(f"{inputs}: missing (run restorebench download PHASE --to {phase_dir})")
    # The inputs download holds the images in inputs/ beside its manifest.
    return inputs / "inputs" if (inputs / "inputs").is_dir() else inputs


def cmd_score(args: argparse.Namespace) -> int:
    phase_dir = Path(args.phase_dir)
    spec = phase_dir / "scoring-spec.json"
    if not spec.is_file():
        return _usage(f"{spec}: missing (run restorebench download PHASE --to {phase_dir})")
    gt = _scored_against(phase_dir, spec)
    from evaluator.cli import main as evaluator_main

    return evaluator_main(
        ["score", str(args.pred), str(gt), "--spec", str(spec), *(["--json"] if args.json else [])]
    )


# --- parser -------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="restorebench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--server", help="the site, e.g. https://bench.example.org (default: where you logged in)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    login = sub.add_parser("login", help="get an API token and keep it")
    login.add_argument("--username")
    login.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    download = sub.add_parser("download", help="inputs, public ground truth and the scoring spec of a phase")
    download.add_argument("phase", type=int)
    download.add_argument("--to", help="folder (default phase-PHASE)")
    submit = sub.add_parser("submit", help="upload a zip (resumable), then follow it until scored")
    submit.add_argument("phase", type=int)
    submit.add_argument("file")
    submit.add_argument("--method-name", default="")
    submit.add_argument("--description", default="")
    submit.add_argument("--runtime", type=float, help="your runtime, seconds per megapixel")
    submit.add_argument("--chunk-mb", type=float, default=8.0)
    submit.add_argument("--no-wait", action="store_true", help="do not wait for the score")
    submit.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait for the score")
    status = sub.add_parser("status", help="a submission's status and scores")
    status.add_argument("submission", type=int)
    status.add_argument("--wait", action="store_true", help="until scored, failed or cancelled")
    status.add_argument("--timeout", type=float, default=3600.0)
    score = sub.add_parser("score", help="score restored images locally with a downloaded phase's spec")
    score.add_argument("pred", help="folder or zip of restored images")
    score.add_argument("--phase-dir", default=".", help="what restorebench download wrote")
    score.add_argument("--json", action="store_true")
    return parser


COMMANDS = {
    "login": cmd_login,
    "download": cmd_download,
    "submit": cmd_submit,
    "status": cmd_status,
    "score": cmd_score,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except UsageError as error:
        return _usage(str(error))
    except ApiError as error:
        _say(f"restorebench: {error.message}")
        return INTERRUPTED if error.status == 0 and args.command == "submit" else FAILED
    except KeyboardInterrupt:
        _say("restorebench: interrupted")
        return INTERRUPTED
