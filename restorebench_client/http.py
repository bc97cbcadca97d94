"""A small JSON/bytes client of the site's REST API (standard library only)."""

import json
import shutil
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any


class ApiError(Exception):
    """The site answered with an error (status ≥ 400) or could not be reached (status 0)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _message(status: int, body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return f"HTTP {status}"
    if isinstance(data, dict):
        if data.get("detail"):
            return str(data["detail"])
        errors = data.get("errors", data)
        if isinstance(errors, dict):
            return "; ".join(
                f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in errors.items()
            )
    return f"HTTP {status}: {data}"


class Api:
    def __init__(self, server: str, token: str | None = None, timeout: float = 120.0) -> None:
        self.server = server.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _request(self, method: str, path: str, body: bytes | None = None, content_type: str = ""):
        request = urllib.request.Request(self.server + path, data=body, method=method)
        request.add_header("Accept", "application/json")
        if content_type:
            request.add_header("Content-Type", content_type)
        if self.token:
            request.add_header("Authorization", f"Token {self.token}")
        try:
            return urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError as error:
            raise ApiError(error.code, _message(error.code, error.read())) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ApiError(0, f"cannot reach {self.server}: {reason}") from None

    def get(self, path: str) -> Any:
        with self._request("GET", path) as response:
            return json.loads(response.read())

    def post(self, path: str, data: dict) -> Any:
        with self._request("POST", path, json.dumps(data).encode(), "application/json") as response:
            return json.loads(response.read())

    def put_bytes(self, path: str, data: bytes) -> Any:
        with self._request("PUT", path, data, "application/octet-stream") as response:
            return json.loads(response.read())

    def download(self, path: str, target: Path) -> Path:
        """Stream a file to `target` (written beside it, then renamed: no half file on failure)."""
        partial = target.with_name(target.name + ".part")
        try:
            with self._request("GET", path) as response, open(partial, "wb") as out:
                shutil.copyfileobj(response, out, 1 << 20)
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
        return target
