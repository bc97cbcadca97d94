"""Turns the services' Django `ValidationError`s into REST answers: 400 with the messages by field,
429 when a submission limit is reached, 409 for an upload in the wrong state, 413 for a declared size
over the limit. Everything else is DRF's default handling. Also the API's JSON parser, which answers
400 to a body nested too deeply for Python's parser instead of letting its RecursionError become a 500."""

from django.core.exceptions import ValidationError
from rest_framework import parsers, status
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def status_of(error: ValidationError) -> int:
    """The HTTP status of a service's refusal (the API and the pages answer alike)."""
    from restorebench.submissions.services import SubmissionLimitReached, UploadConflict, UploadTooLarge

    for kind, code in (
        (SubmissionLimitReached, status.HTTP_429_TOO_MANY_REQUESTS),
        (UploadConflict, status.HTTP_409_CONFLICT),
        (UploadTooLarge, status.HTTP_413_REQUEST_ENTITY_TOO_LARGE),
    ):
        if isinstance(error, kind):
            return code
    return status.HTTP_400_BAD_REQUEST


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            body = {"errors": exc.message_dict, "detail": "; ".join(exc.messages)}
        else:
            body = {"errors": {"non_field_errors": exc.messages}, "detail": "; ".join(exc.messages)}
        return Response(body, status=status_of(exc))
    return drf_exception_handler(exc, context)


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error: the document is nested too deeply") from None
