"""What a validated bundle becomes: plain definitions of a challenge, its tracks, phases and organizer
data, and the problems that stop a bundle from loading (the format: `schema`)."""

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from restorebench.bundles.source import FieldPath, format_path


@dataclass(frozen=True)
class Problem:
    path: FieldPath
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{where}{format_path(self.path)}: {self.message}"


class BundleError(ValueError):
    """A bundle that cannot be loaded; `problems` lists every field at fault with its line."""

    def __init__(self, filename: str, problems: list[Problem]) -> None:
        self.filename = filename
        self.problems = problems
        lines = [f"{filename}: {len(problems)} problem(s); nothing was loaded"]
        lines += [
            f"  {filename}:{p.line}: {format_path(p.path)}: {p.message}"
            if p.line is not None
            else f"  {filename}: {format_path(p.path)}: {p.message}"
            for p in problems
        ]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class PairsDef:
    """Organizer pairs: two folders (resolved, inside the bundle's folder) and how the bundle wrote them."""

    path: FieldPath  # the `data` field that named them
    inputs: Path
    ground_truth: Path | None  # None: a track without ground truth (inputs only)
    labels: tuple[str, str]


@dataclass
class PhaseDef:
    path: FieldPath
    slug: str
    title: str
    description: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    split: str
    seed: int | None
    max_submissions_per_day: int | None
    max_submissions_total: int | None
    max_upload_bytes: int
    leaderboard_public: bool
    hidden_ground_truth: bool
    score_decimals: int
    results_hidden: bool = False
    reveal_at: dt.datetime | None = None
    requires_factsheet: bool = False
    requires_code: bool = False
    max_team_size: int | None = None
    pairs: PairsDef | None = None


@dataclass
class TrackDef:
    path: FieldPath
    slug: str
    title: str
    description: str
    task: str
    compute: str
    degradation_spec: dict
    scoring_spec: dict
    ranking_method: str
    ranking_metrics: list[dict]
    leaderboards: dict  # {} or {"leaderboards": [...]} (evaluator.ranking.boards, stored form)
    efficiency: dict  # {"input_size": [h, w]} (challenges/track_efficiency.py)
    dataset: str
    disclose_kernel: bool | None
    disclose_mask: bool | None
    phases: list[PhaseDef] = field(default_factory=list)


@dataclass
class ChallengeDef:
    slug: str
    title: str
    description: str
    is_public: bool
    organizers: list[str]
    tracks: list[TrackDef] = field(default_factory=list)
