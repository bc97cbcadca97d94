"""The table of reference restoration methods and the contract each one follows.

Array convention for every method (input and output): numpy float64, shape (H, W) for gray or
(H, W, 3) for RGB, intensities on the [0, 1] scale. Degraded inputs may lie slightly outside [0, 1]
(unclipped Gaussian noise); outputs are clipped to [0, 1]. Super-resolution methods receive the
low-resolution image and return one `scale` times larger in each dimension. Tasks whose sample is
several frames (`burst_sr`) give the method the stack (N, H, W) or (N, H, W, 3), frame 0 the reference,
and take one image back. Each task's geometry and disclosures are the task table's (`benchdata.tasks`).

A method is a plain function `restore(degraded, context) -> image`, registered once with
`@register_method(...)`. `context` carries what the track discloses (noise level, blur kernel,
scale factor, inpainting mask, JPEG quality) and any parameter overrides. A method says what it needs
(`needs=("kernel",)`); by default it needs what the task table's `method_needs` says (non-blind
deblurring: the kernel), and a track that does not disclose it (blind deblurring) refuses the method.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchdata.tasks import TaskError, get_task, task_names

TASKS = task_names()
FAMILIES = (
    "interpolation",
    "filtering",
    "transform",
    "optimisation",
    "sparse",
    "low-rank",
    "deep",
    "generative",
)


class MethodError(ValueError):
    """A method was asked for something it cannot do (unknown name, wrong task, bad parameter)."""


def _task(name: str):
    try:
        return get_task(name)
    except TaskError as error:
        raise MethodError(str(error)) from None


@dataclass(frozen=True)
class RestorationContext:
    """What a track discloses to a method, plus parameter overrides.

    sigma: noise standard deviation on the 0-255 scale (denoising, and noisy deblurring).
    kernel: the blur kernel, float64 (h, w) summing to 1 (non-blind deblurring).
    scale: the super-resolution factor (sr, burst_sr).
    mask: bool (H, W), True where a pixel is missing and must be filled (inpainting).
    quality: the JPEG quality the input was compressed at (jpeg).
    params: overrides of the method's defaults, by parameter name.
    seed: for methods with randomness (dictionary initialisation, sampling).
    """

    task: str
    sigma: float | None = None
    kernel: np.ndarray | None = None
    scale: int | None = None
    mask: np.ndarray | None = None
    quality: int | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0

    def __post_init__(self) -> None:
        _task(self.task)

    @property
    def disclosed(self) -> tuple[str, ...]:
        """The disclosures this context carries (sigma, kernel, scale, mask, quality)."""
        return tuple(
            name
            for name in ("sigma", "kernel", "scale", "mask", "quality")
            if getattr(self, name) is not None
        )

    def replace(self, **changes: Any) -> RestorationContext:
        return dataclasses.replace(self, **changes)


def _spec_values(info: Any, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The disclosures a degradation spec holds, for the task `info` (what it may disclose only)."""
    values = {
        "sigma": float(spec.get("sigma", 0.0)),
        "scale": spec.get("scale", info.default_scale),
        "quality": spec.get("quality"),
    }
    return {k: v for k, v in values.items() if k in info.disclosures and v is not None}


def context_from_spec(
    task: str,
    spec: Mapping[str, Any],
    *,
    kernel: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    **extra: Any,
) -> RestorationContext:
    """The context a track of `task` with degradation `spec` gives a method: the spec's values and
    the image's kernel and mask, each only where the task table lets the task disclose it (pass None
    for what the track keeps hidden). `extra`: params, seed."""
    info = _task(task)
    disclosed = _spec_values(info, spec)
    for name, value in (("kernel", kernel), ("mask", mask)):
        if value is not None and name in info.disclosures:
            disclosed[name] = value
    return RestorationContext(task=info.name, **disclosed, **extra)


def track_disclosures(task: str, spec: Mapping[str, Any], *, kernel: bool, mask: bool) -> set[str]:
    """What a track of `task` with degradation `spec` discloses, kernels and masks as it says."""
    info = _task(task)
    names = set(_spec_values(info, spec))
    names |= {n for n, given in (("kernel", kernel), ("mask", mask)) if given and n in info.disclosures}
    return names


RestoreFn = Callable[[np.ndarray, RestorationContext], np.ndarray]
DefaultsFn = Callable[[RestorationContext], dict[str, Any]]

# The scales a super-resolution method without a `scales=` declaration is held to (the tracks' scales).
TRACK_SCALES = (2, 3, 4)


@dataclass(frozen=True)
class KnownFailure:
    """A documented case where a method does not meet the contract's bar (it does not beat the task's
    baseline on `metric`): kept in the registry so listings, docs and the contract test all show it.

    scales: the SR scales concerned, None for every scale the method serves (or a task without one).
    """

    task: str
    metric: str
    reason: str
    scales: tuple[int, ...] | None = None

    def covers(self, task: str, scale: int | None = None) -> bool:
        return task == self.task and (self.scales is None or scale in self.scales)

    def label(self) -> str:
        where = self.task + (" " + " ".join(f"×{s}" for s in self.scales) if self.scales else "")
        return f"known failure on {where} ({self.metric.upper()}): {self.reason}"


@dataclass(frozen=True)
class MethodInfo:
    """One registered method.

    defaults: a function of the context (so defaults can depend on task and noise level) returning
    the parameter values used when the context does not override them.
    """

    name: str
    family: str
    tasks: tuple[str, ...]
    citation: str
    fn: RestoreFn
    defaults: DefaultsFn
    summary: str = ""
    explicit_needs: tuple[str, ...] | None = None
    scales: tuple[int, ...] | None = None
    known_failures: tuple[KnownFailure, ...] = ()

    def served_scales(self, task: str) -> tuple[int, ...]:
        """The SR scales the method serves on `task` (its declaration, else the track scales); () for
        a task without a scale."""
        if not _task(task).scaled:
            return ()
        return self.scales or TRACK_SCALES

    def known_failure(self, task: str, scale: int | None = None) -> KnownFailure | None:
        """The documented known failure covering `task` (at `scale`), or None."""
        return next((f for f in self.known_failures if f.covers(task, scale)), None)

    def needs(self, task: str) -> tuple[str, ...]:
        """The disclosures the method needs on `task`: its own declaration (those the task can
        disclose), or the task table's `method_needs`."""
        info = _task(task)
        if self.explicit_needs is None:
            return info.method_needs
        return tuple(n for n in self.explicit_needs if n in info.disclosures)

    def parameters(self, context: RestorationContext) -> dict[str, Any]:
        """The effective parameters for `context`: defaults, overridden by `context.params`."""
        params = dict(self.defaults(context))
        unknown = set(context.params) - set(params)
        if unknown:
            raise MethodError(
                f"method {self.name!r} has no parameter(s) {', '.join(sorted(unknown))}; "
                f"its parameters are: {', '.join(sorted(params)) or '(none)'}"
            )
        for key, value in context.params.items():
            _check_override(self.name, key, params[key], value)
        params.update(context.params)
        return params


def _check_override(method: str, name: str, default: Any, value: Any) -> None:
    """Refuse an override whose kind differs from the default's (a number for a number, finite,
    an integer for an integer, a bool for a bool, a string for a string); None defaults accept anything."""
    if default is None:
        return
    problem = None
    if isinstance(default, bool):
        if not isinstance(value, (bool, np.bool_)):
            problem = "must be true or false"
    elif isinstance(default, (int, float, np.integer, np.floating)):
        numeric = (int, float, np.integer, np.floating)
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numeric):
            problem = "must be a number"
        elif not np.isfinite(value):
            problem = "must be finite"
        elif isinstance(default, (int, np.integer)) and not isinstance(value, (int, np.integer)):
            problem = "must be an integer"
    elif isinstance(default, str) and not isinstance(value, str):
        problem = "must be a string"
    if problem:
        raise MethodError(f"method {method!r}: parameter {name!r} {problem}, got {value!r}")


_REGISTRY: dict[str, MethodInfo] = {}


def _no_parameters(context: RestorationContext) -> dict[str, Any]:
    return {}


def register_method(
    name: str,
    *,
    family: str,
    tasks: tuple[str, ...] | list[str],
    citation: str,
    defaults: DefaultsFn | None = None,
    summary: str = "",
    needs: tuple[str, ...] | None = None,
    scales: tuple[int, ...] | None = None,
    known_failures: tuple[KnownFailure, ...] = (),
) -> Callable[[RestoreFn], RestoreFn]:
    """Register `fn(degraded, context) -> image` under `name`. Duplicate names are refused.

    needs: the disclosures the method cannot work without (e.g. `("kernel",)`); None = the task
    table's `method_needs` for each task it serves, `()` = nothing beyond what every track gives.
    scales: the only SR scales it serves (trained weights exist for these); None = any integer scale.
    known_failures: documented cases where it does not beat the task's baseline, with the reason.
    """
    if family not in FAMILIES:
        raise MethodError(f"method {name!r}: unknown family {family!r}; valid: {', '.join(FAMILIES)}")
    bad_tasks = [t for t in tasks if t not in TASKS]
    if bad_tasks or not tasks:
        raise MethodError(f"method {name!r}: tasks must be a non-empty subset of {TASKS}, got {tasks!r}")
    if scales is not None and (not scales or any(int(k) != k or k < 2 for k in scales)):
        raise MethodError(f"method {name!r}: scales must be integers >= 2, got {scales!r}")
    stray = [f for f in known_failures if f.task not in tasks]
    if stray:
        raise MethodError(f"method {name!r}: known failures on tasks it does not serve: {stray!r}")

    def decorator(fn: RestoreFn) -> RestoreFn:
        if name in _REGISTRY:
            raise MethodError(f"method {name!r} is already registered (by {_REGISTRY[name].fn.__module__})")
        _REGISTRY[name] = MethodInfo(
            name=name,
            family=family,
            tasks=tuple(tasks),
            citation=citation,
            fn=fn,
            defaults=defaults or _no_parameters,
            summary=summary or (fn.__doc__ or "").strip().split("\n")[0],
            explicit_needs=None if needs is None else tuple(needs),
            scales=None if scales is None else tuple(sorted(scales)),
            known_failures=tuple(known_failures),
        )
        return fn

    return decorator


# Modules whose import registers methods. Explicit, so the table is the same however the package
# is entered and import order never changes what is registered.
METHOD_MODULES = (
    "reference_methods.interpolation",
    "reference_methods.multiframe",
    "reference_methods.deblocking",
    "reference_methods.smoothing",
    "reference_methods.diffusion",
    "reference_methods.filtering",
    "reference_methods.transforms",
    "reference_methods.ridgelet",
    "reference_methods.bandlet",
    "reference_methods.variational",
    "reference_methods.ksvd",
    "reference_methods.scsr",
    "reference_methods.lssc",
    "reference_methods.octobos",
    "reference_methods.wnnm",
    "reference_methods.matrix_completion",
    "reference_methods.bm3d_wrapper",
    "reference_methods.blind_deblur",
    "reference_methods.ncsr",
    "reference_methods.gsr",
    "reference_methods.twsc",
    "reference_methods.deep.methods",
    "reference_methods.generative.methods",
    "reference_methods.generative.methods_ar",
)

_loaded = False


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    import importlib

    for module in METHOD_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            # A family module that does not exist yet; any other missing module is a real error.
            if exc.name != module:
                raise
    _loaded = True


def list_methods(task: str | None = None) -> list[MethodInfo]:
    """All registered methods, sorted by name; only those serving `task` when given."""
    _load_all()
    infos = sorted(_REGISTRY.values(), key=lambda m: m.name)
    if task is not None:
        _task(task)
        infos = [m for m in infos if task in m.tasks]
    return infos


def serves(info: MethodInfo, task: str, disclosed: tuple[str, ...] | set[str]) -> str | None:
    """Why `info` cannot run on a track of `task` that discloses `disclosed`, or None when it can."""
    if task not in info.tasks:
        return f"method {info.name!r} does not serve task {task!r}; it serves: {', '.join(info.tasks)}"
    missing = [n for n in info.needs(task) if n not in disclosed]
    if missing:
        blind = " (a blind track)" if "kernel" in missing else ""
        return (
            f"method {info.name!r} needs the {', '.join(missing)}, which this {task} track does not "
            f"disclose{blind}; choose a method that does without it"
        )
    return None


def get_method(name: str) -> MethodInfo:
    """The method registered as `name`; an unknown name lists the valid ones."""
    _load_all()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise MethodError(
            f"unknown method {name!r}; registered methods: {', '.join(sorted(_REGISTRY))}"
        ) from None


def restore(name: str, degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """Run method `name` on `degraded`, checking the task, the input and the output at the edge."""
    info = get_method(name)
    refusal = serves(info, context.task, context.disclosed)
    if refusal:
        raise MethodError(refusal)
    image = np.asarray(degraded)
    frames = _task(context.task).multi_frame
    sample = image[0] if frames and image.ndim in (3, 4) else image
    if (
        (frames and image.ndim not in (3, 4))
        or sample.ndim not in (2, 3)
        or (sample.ndim == 3 and sample.shape[2] != 3)
    ):
        expected = "a stack of frames (N, H, W) or (N, H, W, 3)" if frames else "an (H, W) or (H, W, 3) image"
        raise MethodError(f"{name}: expected {expected}, got shape {image.shape}")
    if not np.isfinite(image).all():
        raise MethodError(f"{name}: the degraded image contains NaN or infinite values")
    _check_context(name, context, sample)
    if _task(context.task).scaled and info.scales and context.scale not in info.scales:
        raise MethodError(
            f"{name}: serves scale(s) {', '.join(map(str, info.scales))}, not {context.scale} (its "
            "registry entry; trained weights exist for those only)"
        )
    info.parameters(context)  # unknown or ill-typed overrides fail here, even for methods without parameters
    result = info.fn(image.astype(np.float64, copy=False), context)
    expected = _expected_shape(image, context)
    if result.shape != expected:
        raise MethodError(f"{name}: produced shape {result.shape}, expected {expected} (a bug in the method)")
    return np.clip(result, 0.0, 1.0)


def _expected_shape(image: np.ndarray, context: RestorationContext) -> tuple[int, ...]:
    info = _task(context.task)
    sample = image[0] if info.multi_frame else image
    h, w = info.output_size(*sample.shape[:2], scale=context.scale)
    return (h, w, *sample.shape[2:])


def _check_context(name: str, context: RestorationContext, image: np.ndarray) -> None:
    """Check what the context discloses: present where the task requires it, and well formed."""
    info = _task(context.task)
    missing = [n for n in info.requires if getattr(context, n) is None]
    if missing:
        raise MethodError(
            f"{name}: every {context.task} track discloses the {', '.join(missing)}; it is missing"
        )
    if context.sigma is not None and context.sigma < 0:
        raise MethodError(f"{name}: the noise level sigma must be non-negative (0-255 scale)")
    if context.kernel is not None:
        k = np.asarray(context.kernel)
        if k.ndim != 2 or not np.isfinite(k).all() or abs(k.sum() - 1.0) > 1e-6:
            raise MethodError(f"{name}: the blur kernel must be a finite 2-D array summing to 1")
    if info.scaled and (int(context.scale) != context.scale or context.scale < 2):
        raise MethodError(f"{name}: super-resolution needs an integer scale >= 2, got {context.scale!r}")
    if context.mask is not None and context.mask.shape != image.shape[:2]:
        raise MethodError(f"{name}: mask shape {context.mask.shape} does not match image {image.shape[:2]}")
    if context.quality is not None and not (isinstance(context.quality, int) and 1 <= context.quality <= 100):
        raise MethodError(
            f"{name}: the JPEG quality must be an integer from 1 to 100, got {context.quality!r}"
        )
