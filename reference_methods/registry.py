"""The table of reference restoration methods and the contract each one follows.

Array convention for every method (input and output): numpy float64, shape (H, W) for gray or
(H, W, 3) for RGB, intensities on the [0, 1] scale. Degraded inputs may lie slightly outside [0, 1]
(unclipped Gaussian noise); outputs are clipped to [0, 1]. Super-resolution methods receive the
low-resolution image and return one `scale` times larger in each dimension.

A method is a plain function `restore(degraded, context) -> image`, registered once with
`@register_method(...)`. `context` carries what the track discloses (noise level, blur kernel,
scale factor, inpainting mask) and any parameter overrides.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

TASKS = ("denoise", "deblur", "sr", "inpaint")
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


@dataclass(frozen=True)
class RestorationContext:
    """What a track discloses to a method, plus parameter overrides.

    sigma: noise standard deviation on the 0-255 scale (denoising, and noisy deblurring).
    kernel: the blur kernel, float64 (h, w) summing to 1 (non-blind deblurring).
    scale: the super-resolution factor.
    mask: bool (H, W), True where a pixel is missing and must be filled (inpainting).
    params: overrides of the method's defaults, by parameter name.
    seed: for methods with randomness (dictionary initialisation, sampling).
    """

    task: str
    sigma: float | None = None
    kernel: np.ndarray | None = None
    scale: int | None = None
    mask: np.ndarray | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise MethodError(f"unknown task {self.task!r}; valid tasks: {', '.join(TASKS)}")

    def replace(self, **changes: Any) -> RestorationContext:
        return dataclasses.replace(self, **changes)


RestoreFn = Callable[[np.ndarray, RestorationContext], np.ndarray]
DefaultsFn = Callable[[RestorationContext], dict[str, Any]]


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
) -> Callable[[RestoreFn], RestoreFn]:
    """Register `fn(degraded, context) -> image` under `name`. Duplicate names are refused."""
    if family not in FAMILIES:
        raise MethodError(f"method {name!r}: unknown family {family!r}; valid: {', '.join(FAMILIES)}")
    bad_tasks = [t for t in tasks if t not in TASKS]
    if bad_tasks or not tasks:
        raise MethodError(f"method {name!r}: tasks must be a non-empty subset of {TASKS}, got {tasks!r}")

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
        )
        return fn

    return decorator


# Modules whose import registers methods. Explicit, so the table is the same however the package
# is entered and import order never changes what is registered.
METHOD_MODULES = (
    "reference_methods.interpolation",
    "reference_methods.filtering",
    "reference_methods.transforms",
    "reference_methods.variational",
    "reference_methods.sparse",
    "reference_methods.low_rank",
    "reference_methods.deep.methods",
    "reference_methods.generative.methods",
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
        if task not in TASKS:
            raise MethodError(f"unknown task {task!r}; valid tasks: {', '.join(TASKS)}")
        infos = [m for m in infos if task in m.tasks]
    return infos


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
    if context.task not in info.tasks:
        raise MethodError(
            f"method {name!r} does not serve task {context.task!r}; it serves: {', '.join(info.tasks)}"
        )
    image = np.asarray(degraded)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise MethodError(f"{name}: expected an (H, W) or (H, W, 3) image, got shape {image.shape}")
    if not np.isfinite(image).all():
        raise MethodError(f"{name}: the degraded image contains NaN or infinite values")
    _check_context(name, context, image)
    info.parameters(context)  # unknown or ill-typed overrides fail here, even for methods without parameters
    result = info.fn(image.astype(np.float64, copy=False), context)
    expected = _expected_shape(image, context)
    if result.shape != expected:
        raise MethodError(f"{name}: produced shape {result.shape}, expected {expected} (a bug in the method)")
    return np.clip(result, 0.0, 1.0)


def _expected_shape(image: np.ndarray, context: RestorationContext) -> tuple[int, ...]:
    if context.task == "sr":
        h, w = image.shape[:2]
        return (h * context.scale, w * context.scale, *image.shape[2:])
    return image.shape


def _check_context(name: str, context: RestorationContext, image: np.ndarray) -> None:
    if context.task == "denoise" and (context.sigma is None or context.sigma < 0):
        raise MethodError(f"{name}: denoising needs a non-negative noise level sigma (0-255 scale)")
    if context.task == "deblur":
        if context.kernel is None:
            raise MethodError(f"{name}: deblurring needs the blur kernel (non-blind track)")
        k = np.asarray(context.kernel)
        if k.ndim != 2 or not np.isfinite(k).all() or abs(k.sum() - 1.0) > 1e-6:
            raise MethodError(f"{name}: the blur kernel must be a finite 2-D array summing to 1")
    if context.task == "sr" and (
        context.scale is None or int(context.scale) != context.scale or context.scale < 2
    ):
        raise MethodError(f"{name}: super-resolution needs an integer scale >= 2, got {context.scale!r}")
    if context.task == "inpaint":
        if context.mask is None:
            raise MethodError(f"{name}: inpainting needs the mask of missing pixels")
        if context.mask.shape != image.shape[:2]:
            raise MethodError(
                f"{name}: mask shape {context.mask.shape} does not match image {image.shape[:2]}"
            )
