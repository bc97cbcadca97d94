"""The compiled formula (closures specialised for constant operands and one-argument calls) gives the
same value, or refuses the same inputs, as a plain walk of the parsed tree written here by hand, on
hundreds of random formulas."""

import math
import random

import pytest

from evaluator.ranking.formula import (
    Binary,
    FormulaError,
    FormulaEvaluationError,
    Name,
    Number,
    Unary,
    parse,
)

NAMES = ("psnr", "ssim", "runtime", "params")


def _reference(node, env: dict) -> float:
    """The formula's meaning, step by step (docs/ranking.md): IEEE arithmetic, except that division
    by zero, log of a non-positive number and NaN have no value."""
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Name):
        return env[node.name]
    if isinstance(node, Unary):
        return -_reference(node.operand, env)
    if isinstance(node, Binary):
        a, b = _reference(node.left, env), _reference(node.right, env)
        if node.op == "/":
            if b == 0:
                raise FormulaEvaluationError
            value = a / b
        else:
            value = {"+": a + b, "-": a - b, "*": a * b}[node.op]
    else:
        args = [_reference(arg, env) for arg in node.args]
        if node.function == "log" and args[0] <= 0:
            raise FormulaEvaluationError
        if node.function == "clip" and args[1] > args[2]:
            raise FormulaEvaluationError
        function = {
            "exp": lambda x: math.exp(x) if x < 709 else math.inf,
            "log": math.log,
            "abs": abs,
            "min": min,
            "max": max,
            "clip": lambda x, lo, hi: min(max(x, lo), hi),
        }[node.function]
        value = function(*args)
    if math.isnan(value):
        raise FormulaEvaluationError
    return value


def _random_text(rng: random.Random, depth: int = 0) -> str:
    pick = rng.random()
    if depth > 3 or pick < 0.3:
        return rng.choice([*NAMES, "0", "2", "0.5", "1e3", "-3"])
    if pick < 0.75:
        op = rng.choice("+-*/")
        return f"({_random_text(rng, depth + 1)} {op} {_random_text(rng, depth + 1)})"
    function = rng.choice(["exp", "log", "abs", "min", "max", "clip"])
    count = {"exp": 1, "log": 1, "abs": 1, "min": 2, "max": 3, "clip": 3}[function]
    return f"{function}({', '.join(_random_text(rng, depth + 1) for _ in range(count))})"


@pytest.mark.parametrize("seed", range(4))
def test_compiled_formulas_agree_with_a_walk_of_the_tree(seed):
    rng = random.Random(seed)
    checked = 0
    while checked < 150:
        try:
            formula = parse(_random_text(rng))
        except FormulaError:  # constant division by zero or log of a constant: refused when parsed
            continue
        checked += 1
        for _ in range(4):
            env = {n: rng.choice([0.0, 1.0, -2.5, 28.3, 0.02, 1e300, rng.uniform(-5, 5)]) for n in NAMES}
            try:
                expected = _reference(formula.tree, env)
            except FormulaEvaluationError:
                with pytest.raises(FormulaEvaluationError):
                    formula.evaluate(env)
                continue
            assert formula.evaluate(env) == expected, formula.text
