"""The kept picks (`leaderboards.picks`) never disagree with picking from scratch: after random
sequences of writes (scored and unscored submissions, rescores through `save` and `QuerySet.update`,
choices, disqualifications, deletions, a submission moved to another team, a team deleted, bulk
inserts, references, changes of the ranking rule) each team's representative is the one the portable
pick chooses (sorting every submission of the phase, as the leaderboard did before), and every board
equals the board made after dropping every kept pick."""

import io
import random

import pytest
from django.db.models import F
from rb_test_helpers import scored_submission
from restorebench.challenges.models import Phase
from restorebench.challenges.services import track_update
from restorebench.challenges.track_ranking import track_boards
from restorebench.leaderboards.board_sql import board_order_by
from restorebench.leaderboards.entries import _references, leaderboard_entries
from restorebench.leaderboards.entries import representative_board as picking_board
from restorebench.leaderboards.models import TeamChanges, TeamPick
from restorebench.leaderboards.picks import team_picks_rebuild
from restorebench.leaderboards.selectors import leaderboards_compute, ranking_rule
from restorebench.submissions.models import Submission
from restorebench.submissions.services import submission_choose, submission_disqualify, submission_requalify

pytestmark = pytest.mark.django_db


def _formula(gate: str, order: str, runtime_weight: float) -> dict:
    return {
        "leaderboards": [
            {
                "slug": "main",
                "title": "Main",
                "score": f"{runtime_weight}*exp(2*runtime/0.02) + 0.5*exp(2*params/2000)",
                "order": order,
                "gate": gate,
            },
            {"slug": "fidelity", "title": "Fidelity", "metrics": ["psnr", "ssim"]},
            {"slug": "overall", "title": "Overall", "combine": {"leaderboards": ["main", "fidelity"]}},
        ]
    }


RULES = [
    _formula("psnr >= 27.0", "lower_first", 0.5),
    _formula("psnr >= 26.5 and ssim > 0.7", "higher_first", 0.8),
    {"leaderboards": [{"slug": "main", "title": "Main", "metrics": ["ssim", "psnr"]}]},
]


def _fields(rng: random.Random) -> dict:
    # Few distinct values: ties on the gate, the score and the metrics are common.
    return {
        "kind": "model",
        "model_format": "onnx",
        "model_manifest": {},
        "model_seconds_per_image": rng.choice([0.01, 0.02, 0.03]),
        "model_parameters": rng.choice([1000, 2000]),
    }


def _scores(rng: random.Random) -> dict:
    return {"psnr": rng.choice([26.0, 26.5, 27.0, 27.5]), "ssim": rng.choice([0.6, 0.75, 0.8])}


class World:
    def __init__(self, arena, make_participant, rng: random.Random) -> None:
        self.arena, self.make_participant, self.rng = arena, make_participant, rng
        self.teams: list = []  # (user, team)

    def phase(self) -> Phase:
        return Phase.objects.select_related("track").get(pk=self.arena.phase.pk)

    def submissions(self, **filters) -> list[Submission]:
        return list(Submission.objects.filter(phase=self.arena.phase, is_reference=False, **filters))

    def step(self) -> str:
        rng = self.rng
        if len(self.teams) < 2 or rng.random() < 0.15:
            self.teams.append(self.make_participant(self.arena))
        _, team = rng.choice(self.teams)
        ops = ["add", "add", "unscored", "rescore_save", "rescore_update", "choose", "disqualify"]
        ops += ["requalify", "delete", "fail", "move", "bulk", "reference", "rule", "delete_team"]
        op = rng.choice(ops)
        existing = self.submissions()
        pick = rng.choice(existing) if existing else None
        if op == "add" or pick is None:
            scored_submission(self.arena.phase, team, _scores(rng), **_fields(rng))
        elif op == "unscored":
            fresh = scored_submission(self.arena.phase, team, _scores(rng), **_fields(rng))
            Submission.objects.filter(pk=fresh.pk).update(status="running", scores=None)
        elif op == "rescore_save":
            pick.scores = _scores(rng)
            pick.save()
        elif op == "rescore_update":  # bypasses save() and updated_at: only the trigger sees it
            Submission.objects.filter(pk=pick.pk).update(
                scores=_scores(rng), model_parameters=rng.choice([1000, 3000])
            )
        elif op == "choose" and pick.status == "scored" and not pick.disqualified:
            user = next(u for u, t in self.teams if t.pk == pick.team_id)
            submission_choose(submission=pick, user=user)
        elif op == "disqualify":
            submission_disqualify(submission=pick, actor=None, reason="test")
        elif op == "requalify":
            submission_requalify(submission=pick, actor=None)
        elif op == "delete":
            pick.delete()
        elif op == "fail":
            Submission.objects.filter(pk=pick.pk).update(status="failed")
        elif op == "move":
            Submission.objects.filter(pk=pick.pk).update(team=team, is_chosen=False)
        elif op == "bulk":
            Submission.objects.bulk_create(
                [
                    Submission(
                        phase=self.arena.phase,
                        team=team,
                        method_name="b",
                        archive_path="x.zip",
                        archive_bytes=1,
                        sha256="0" * 64,
                        content_fingerprint=f"bulk-{rng.random()}",
                        image_count=1,
                        status="scored",
                        scores=_scores(rng),
                        **_fields(rng),
                    )  # fmt: skip
                    for _ in range(3)
                ]
            )
        elif op == "reference":
            scored_submission(
                self.arena.phase, None, _scores(rng), method_name=rng.choice(["bicubic", "nlm"])
            )
        elif op == "rule":
            track_update(track=self.arena.track, actor=self.arena.organizer, ranking=rng.choice(RULES))
        elif op == "delete_team" and len(self.teams) > 2:
            _, gone = self.teams.pop(rng.randrange(len(self.teams)))
            gone.delete()
        return op


def _kept(phase: Phase) -> tuple[dict, list]:
    board = picking_board(track_boards(phase.track), ranking_rule(phase))
    teams, references = leaderboard_entries(phase, board)
    return {row["team_id"]: row["id"] for row in teams}, sorted(row["id"] for row in references)


def _from_scratch(phase: Phase) -> tuple[dict, list]:
    """Each team's pick sorted out of every submission of the phase (as the leaderboard did before
    picks were kept), and the latest reference per method."""
    board = picking_board(track_boards(phase.track), ranking_rule(phase))
    scored = Submission.objects.filter(phase=phase, status="scored", disqualified=False)
    teams = (
        scored.filter(is_reference=False)
        .order_by("team_id", F("is_chosen").desc(), *board_order_by(board), "created_at", "id")
        .distinct("team_id")
        .values_list("team_id", "id")
    )
    return dict(teams), sorted(row["id"] for row in _references(phase))


def _boards(phase: Phase) -> dict:
    return {
        slug: [row.as_dict() for row in board.rows]
        for slug, board in leaderboards_compute(phase=phase).items()
    }


@pytest.mark.parametrize("seed", range(6))
def test_kept_picks_agree_with_picking_from_scratch_after_random_writes(seed, make_arena, make_participant):
    arena = make_arena(images=1)
    track_update(track=arena.track, actor=arena.organizer, ranking=RULES[0])
    world = World(arena, make_participant, random.Random(seed))
    ops = []
    for _ in range(60):
        ops.append(world.step())
        phase = world.phase()
        assert _kept(phase) == _from_scratch(phase), ops
    kept = _boards(world.phase())
    team_picks_rebuild(phase=world.phase())
    assert TeamPick.objects.filter(phase=arena.phase).count() == 0
    assert _boards(world.phase()) == kept


def test_a_read_re_picks_only_the_teams_whose_submissions_changed(make_arena, make_participant):
    arena = make_arena(images=1)
    track_update(track=arena.track, actor=arena.organizer, ranking=RULES[0])
    teams = [make_participant(arena)[1] for _ in range(3)]
    for team in teams:
        scored_submission(arena.phase, team, {"psnr": 27.5, "ssim": 0.8}, **_fields(random.Random(1)))
    phase = Phase.objects.select_related("track").get(pk=arena.phase.pk)
    _kept(phase)
    before = {p.team_id: p.changes for p in TeamPick.objects.filter(phase=phase)}
    assert set(before) == {t.pk for t in teams}
    fields = {**_fields(random.Random(1)), "model_seconds_per_image": 0.001, "model_parameters": 10}
    better = scored_submission(arena.phase, teams[0], {"psnr": 28.0, "ssim": 0.8}, **fields)
    counted = TeamChanges.objects.get(phase=phase, team=teams[0]).changes
    assert counted > before[teams[0].pk]
    assert _kept(phase)[0][teams[0].pk] == better.pk
    after = {p.team_id: p.changes for p in TeamPick.objects.filter(phase=phase)}
    assert after == {**before, teams[0].pk: counted}


def test_the_phase_version_moves_with_every_write_to_its_submissions(make_arena, make_participant):
    from restorebench.leaderboards.versions import leaderboard_cache_key

    arena = make_arena(images=1)
    phase = arena.phase
    _, a = make_participant(arena)
    _, b = make_participant(arena)
    seen = [leaderboard_cache_key(phase)]

    def moved() -> None:
        version = leaderboard_cache_key(phase)
        assert version not in seen
        seen.append(version)

    first = scored_submission(phase, a, {"psnr": 27.0, "ssim": 0.8})
    moved()
    assert leaderboard_cache_key(phase) == seen[-1]  # no write, no change
    # An update that leaves `updated_at` alone, as `QuerySet.update` may.
    Submission.objects.filter(pk=first.pk).update(scores={"psnr": 28.0, "ssim": 0.8})
    moved()
    rescored = seen[-1]
    scored_submission(phase, b, {"psnr": 26.0, "ssim": 0.8})
    moved()
    b.delete()  # exactly what was there before b's submission: that version again
    assert leaderboard_cache_key(phase) == rescored
    reference = scored_submission(phase, None, {"psnr": 25.0, "ssim": 0.7}, method_name="bicubic")
    moved()
    reference.delete()  # the same again
    assert leaderboard_cache_key(phase) == rescored
    Submission.objects.filter(pk=first.pk).update(is_chosen=True)
    moved()
    first.delete()
    moved()


def test_the_rebuild_command_restores_a_lost_count_and_the_team_comes_back(make_arena, make_participant):
    from django.core.management import call_command

    arena = make_arena(images=1)
    _, team = make_participant(arena)
    entry = scored_submission(arena.phase, team, {"psnr": 27.0, "ssim": 0.8})
    phase = Phase.objects.select_related("track").get(pk=arena.phase.pk)
    assert _kept(phase)[0] == {team.pk: entry.pk}
    TeamChanges.objects.filter(phase=phase).delete()  # a manual edit gone wrong
    TeamPick.objects.filter(phase=phase).delete()
    assert _kept(phase)[0] == {}
    call_command("leaderboard_picks_rebuild", "--phase", str(phase.pk), stdout=io.StringIO())
    assert _kept(phase) == _from_scratch(phase) and _kept(phase)[0] == {team.pk: entry.pk}
