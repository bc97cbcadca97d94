"""A phase's figures, rendered on the server as SVG (matplotlib, no script or CDN in the browser).

Plain data in, SVG text out; `phase_figures` gathers the data a viewer may see (the leaderboard as
that viewer sees it, per-image scores where the viewer may see them, the viewer's own team's
submissions — every team's for organizers):

- the perception–distortion plane (a fidelity metric against a perceptual one, e.g. PSNR vs LPIPS),
  with its Pareto front (Blau & Michaeli 2018);
- quality against runtime per image, parameters and FLOPs at the track's reference input (log axes)
  for model entries;
- per-image distributions of the primary metric per entry (box plots);
- each team's submissions over time.
"""

import io
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # no display on a server
import matplotlib.pyplot as plt  # noqa: E402

from evaluator.ranking.rules import metric_direction  # noqa: E402  (the registry, loaded on first use)

PERCEPTUAL = ("lpips", "lpips_vgg", "dists")  # lower is better: distance to the ground truth
FIDELITY = ("psnr", "ssim", "ms_ssim")
MAX_BOXES = 30


@dataclass(frozen=True)
class Point:
    label: str
    x: float
    y: float
    reference: bool = False


def _svg(figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog: the SVG goes inline in the page


def pareto_front(points: Sequence[Point], *, x_higher: bool, y_higher: bool) -> list[Point]:
    """The points no other point beats on both axes, ordered along x."""
    sign_x, sign_y = (1 if x_higher else -1), (1 if y_higher else -1)
    front = []
    for p in points:
        dominated = any(
            sign_x * q.x >= sign_x * p.x and sign_y * q.y >= sign_y * p.y and (q.x, q.y) != (p.x, p.y)
            for q in points
        )
        if not dominated:
            front.append(p)
    return sorted(front, key=lambda p: p.x)


def _scatter(ax, points: Sequence[Point]) -> None:
    teams = [p for p in points if not p.reference]
    references = [p for p in points if p.reference]
    ax.scatter([p.x for p in teams], [p.y for p in teams], s=28, color="#1f6feb", label="teams", zorder=3)
    if references:
        ax.scatter([p.x for p in references], [p.y for p in references], s=36, marker="s", color="#c08a00",
                   label="baselines", zorder=3)  # fmt: skip
    for p in points:
        ax.annotate(p.label[:24], (p.x, p.y), fontsize=7, xytext=(3, 3), textcoords="offset points")


def perception_distortion_svg(points: Sequence[Point], x_metric: str, y_metric: str) -> str:
    x_higher, y_higher = bool(metric_direction(x_metric)), bool(metric_direction(y_metric))
    figure, ax = plt.subplots(figsize=(6.4, 4.2))
    _scatter(ax, points)
    front = pareto_front(points, x_higher=x_higher, y_higher=y_higher)
    ax.plot([p.x for p in front], [p.y for p in front], "--", color="#cf222e", lw=1.2, label="Pareto front")
    ax.set_xlabel(f"{x_metric.upper()} ({'higher' if x_higher else 'lower'} is better)")
    ax.set_ylabel(f"{y_metric.upper()} ({'higher' if y_higher else 'lower'} is better)")
    ax.set_title("Perception–distortion plane")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _svg(figure)


def efficiency_svg(points: Sequence[Point], quality: str, quantity: str) -> str:
    figure, ax = plt.subplots(figsize=(6.4, 4.2))
    _scatter(ax, points)
    ax.set_xscale("log")
    ax.set_xlabel(quantity)
    ax.set_ylabel(quality.upper())
    ax.set_title(f"{quality.upper()} against {quantity} (model entries)")
    ax.grid(alpha=0.3, which="both")
    return _svg(figure)


def distributions_svg(per_entry: dict[str, list[float]], metric: str) -> str:
    labels = list(per_entry)[:MAX_BOXES]
    figure, ax = plt.subplots(figsize=(max(6.4, 0.45 * len(labels)), 4.2))
    ax.boxplot([per_entry[label] for label in labels], showmeans=True)
    ax.set_xticks(range(1, len(labels) + 1), [label[:18] for label in labels], rotation=45, ha="right",
                  fontsize=7)  # fmt: skip
    ax.set_ylabel(f"{metric.upper()} per image")
    ax.set_title(f"Per-image {metric.upper()} of each entry")
    ax.grid(alpha=0.3, axis="y")
    return _svg(figure)


def history_svg(series: dict[str, list[tuple]], metric: str) -> str:
    figure, ax = plt.subplots(figsize=(6.4, 4.2))
    for label, points in series.items():
        points = sorted(points)
        ax.plot([t for t, _ in points], [v for _, v in points], "o-", ms=4, label=label[:24])
    ax.set_ylabel(metric.upper())
    ax.set_title("Submissions over time")
    ax.grid(alpha=0.3)
    if len(series) <= 12:
        ax.legend(fontsize=7)
    figure.autofmt_xdate()
    return _svg(figure)
