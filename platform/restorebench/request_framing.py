"""Refuses request bodies sent without a `Content-Length` (`Transfer-Encoding: chunked`).

Django reads a body only up to `CONTENT_LENGTH`, so behind a server that de-chunks (gunicorn) such a
body arrives empty and a submission would fail as "no file"; and Django's own servers (runserver, the
test server) leave the unread chunks on the connection, where they are read as the next request.
Every size limit here also needs the length before the body is read (docs/platform.md, "Submitting").
"""

import json
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

MESSAGE = (
    "Length Required: send the request body with a Content-Length header; "
    "a body in Transfer-Encoding (chunked) is not accepted."
)


class RequireContentLengthMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "HTTP_TRANSFER_ENCODING" not in request.META:
            return self.get_response(request)
        # Streamed, so the reply has no Content-Length: a server that cannot skip the unread chunks
        # (Django's own) then closes the connection instead of parsing them as the next request.
        return StreamingHttpResponse(
            [json.dumps({"detail": MESSAGE}).encode()], status=411, content_type="application/json"
        )
