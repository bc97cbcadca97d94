"""The evaluator's exceptions, split by whose fault a failure is.

`SubmissionError` and its subclasses are the participant's problem: their message is written to be shown
to the participant as is. Everything else (`EvaluatorError` subclasses that are not submission errors,
or any other exception) is a platform or organizer problem.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evaluator.result import Problem


class EvaluatorError(Exception):
    """Base class of every error the evaluator raises on purpose."""


class SpecError(EvaluatorError, ValueError):
    """A scoring spec (a track's configuration) is invalid: an organizer/platform problem."""


class WeightsNotInstalled(EvaluatorError):
    """A metric's weights are missing or fail their checksum: a platform problem, never silently replaced."""


class SubmissionError(EvaluatorError):
    """The submission cannot be scored because of something the participant sent."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems: list[Problem] = list(problems or [])


class UnreadableSubmission(SubmissionError):
    """The submission archive or folder itself cannot be read (not a zip, corrupt, a zip bomb, empty)."""


class SubmissionRejected(SubmissionError):
    """Per-file problems made the whole submission invalid under the track's policy."""
