"""Where the client keeps its token and its unfinished uploads: $RESTOREBENCH_CLIENT_HOME, else
~/.config/restorebench/ (files readable by the owner only)."""

import json
import os
from pathlib import Path


def home() -> Path:
    explicit = os.environ.get("RESTOREBENCH_CLIENT_HOME")
    base = (
        Path(explicit)
        if explicit
        else Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "restorebench"
    )
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    return base


def _read(name: str) -> dict:
    path = home() / name
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(name: str, data: dict) -> None:
    path = home() / name
    partial = path.with_name(name + ".part")
    partial.write_text(json.dumps(data, indent=2, sort_keys=True))
    partial.chmod(0o600)
    partial.replace(path)


def credentials() -> dict:
    """{"server": ..., "token": ..., "username": ...} saved by `restorebench login`, or {}."""
    return _read("credentials.json")


def save_credentials(*, server: str, token: str, username: str) -> None:
    _write("credentials.json", {"server": server, "token": token, "username": username})


def upload_key(server: str, phase: int, sha256: str) -> str:
    return f"{server}|{phase}|{sha256}"


def pending_upload(key: str) -> str | None:
    return _read("uploads.json").get(key)


def remember_upload(key: str, upload_id: str | None) -> None:
    uploads = _read("uploads.json")
    if upload_id is None:
        uploads.pop(key, None)
    else:
        uploads[key] = upload_id
    _write("uploads.json", uploads)
