"""Turns the services' Django `ValidationError`s into REST answers: 400 with the messages by field,
or 429 when a submission limit is reached. Everything else is DRF's default handling."""

from django.core.exceptions import ValidationError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, ValidationError):
        from restorebench.submissions.services import SubmissionLimitReached

        code = status.HTTP_429_TOO_MANY_REQUESTS if isinstance(exc, SubmissionLimitReached) else 400
        if hasattr(exc, "error_dict"):
            body = {"errors": exc.message_dict, "detail": "; ".join(exc.messages)}
        else:
            body = {"errors": {"non_field_errors": exc.messages}, "detail": "; ".join(exc.messages)}
        return Response(body, status=code)
    return drf_exception_handler(exc, context)
