"""The formula language: precedence, functions, conditions, and every refusal with its position."""

import math

import pytest

from evaluator.ranking.formula import FormulaError, FormulaEvaluationError, parse


def value(text: str, **names: float) -> float:
    return parse(text).evaluate(names)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", 7.0),
        ("(1 + 2) * 3", 9.0),
        ("10 - 4 - 3", 3.0),  # left-associative
        ("24 / 4 / 2", 3.0),
        ("-2 * 3", -6.0),
        ("2 * -3", -6.0),
        ("--2", 2.0),
        ("+2 - -1", 3.0),
        ("1 - 2 * 3 + 8 / 4", -3.0),
        ("16.70e9 / 1e9", 16.7),
        (".5 + 1.", 1.5),
        ("1E-3 * 1000", 1.0),
    ],
)
def test_arithmetic_follows_the_usual_precedence(text, expected):
    assert value(text) == pytest.approx(expected)


def test_functions_compute_what_their_names_say():
    assert value("min(3, 1, 2)") == 1
    assert value("max(3, 1, 2)") == 3
    assert value("exp(1)") == pytest.approx(math.e)
    assert value("log(exp(2.5))") == pytest.approx(2.5)
    assert value("abs(-4)") == 4
    assert value("clip(5, 0, 1)") == 1 and value("clip(-5, 0, 1)") == 0 and value("clip(0.3, 0, 1)") == 0.3


def test_names_take_the_values_given():
    formula = parse("psnr + 10*ssim - 5*lpips")
    assert formula.names == ("psnr", "ssim", "lpips")
    assert formula.evaluate({"psnr": 30.0, "ssim": 0.9, "lpips": 0.1}) == pytest.approx(30 + 9 - 0.5)


def test_the_ntire_perceptual_score_is_computed_on_given_means():
    text = "(1 - lpips) + (1 - dists) + max(0, (10 - niqe) / 10)"
    formula = parse(text)
    assert formula.evaluate({"lpips": 0.2, "dists": 0.1, "niqe": 4.0}) == pytest.approx(0.8 + 0.9 + 0.6)
    assert formula.evaluate({"lpips": 0.2, "dists": 0.1, "niqe": 12.0}) == pytest.approx(0.8 + 0.9)


def test_conditions_combine_with_and_or_not_in_that_precedence():
    gate = parse("psnr >= 26.90 or ssim > 0.9 and not lpips < 0.1", kind="condition")
    # `and` binds tighter than `or`: psnr passes alone.
    assert gate.evaluate({"psnr": 27.0, "ssim": 0.0, "lpips": 0.0}) is True
    assert gate.evaluate({"psnr": 26.0, "ssim": 0.95, "lpips": 0.2}) is True
    assert gate.evaluate({"psnr": 26.0, "ssim": 0.95, "lpips": 0.05}) is False
    assert (
        parse("(psnr >= 26.90 or ssim > 0.9) and lpips < 0.1", kind="condition").evaluate(
            {"psnr": 27.0, "ssim": 0.0, "lpips": 0.2}
        )
        is False
    )


@pytest.mark.parametrize(
    ("op", "a", "b", "expected"),
    [
        (">=", 1, 1, True),
        ("<=", 2, 1, False),
        (">", 2, 1, True),
        ("<", 1, 1, False),
        ("==", 1, 1, True),
        ("!=", 1, 1, False),
    ],
)
def test_every_comparison(op, a, b, expected):
    assert parse(f"x {op} y", kind="condition").evaluate({"x": a, "y": b}) is expected


@pytest.mark.parametrize(
    ("text", "kind", "position", "fragment"),
    [
        ("", "number", 0, "is empty"),
        ("   ", "number", 0, "is empty"),
        ("psnr +", "number", 6, "found the end"),
        ("(psnr", "number", 5, "expected ')'"),
        ("psnr)", "number", 4, "unexpected ')'"),
        ("psnr psnr", "number", 5, "after a complete expression"),
        ("psnr ^ 2", "number", 5, "unexpected character '^'"),
        ("psnr ** 2", "number", 6, "expected a number"),
        ("1 / 0", "number", 2, "division by zero"),
        ("psnr / (2 - 2*1)", "number", 5, "division by zero"),
        ("log(0)", "number", 4, "not positive"),
        ("log(1 - 2)", "number", 4, "not positive"),
        ("foo(1)", "number", 0, "unknown function 'foo'"),
        ("exp", "number", 0, "is a function"),
        ("exp(1, 2)", "number", 0, "takes 1 argument"),
        ("min(1)", "number", 0, "at least 2"),
        ("clip(1, 2)", "number", 0, "takes 3 argument"),
        ("clip(x, 3, 2)", "number", 0, "low above high"),
        ("exp(1,)", "number", 6, "expected a number"),
        ("a < b < c", "condition", 6, "cannot be chained"),
        ("psnr and ssim", "condition", 0, "joins conditions"),
        ("psnr > 1 + (ssim > 1)", "condition", 12, "needs numbers"),
        ("not psnr", "condition", 4, "'not' needs a condition"),
        ("-(psnr > 1)", "number", 2, "needs a number"),
        ("exp(psnr > 1)", "number", 4, "takes numbers"),
        ("psnr >= 26.9", "number", 5, "must be a number"),
        ("psnr + 1", "condition", 5, "must be a condition"),
        ("x" * 2001, "number", 2000, "at most 2000"),
        ("(" * 100 + "1" + ")" * 100, "number", 60, "nested more than"),
    ],
)
def test_every_error_names_its_position(text, kind, position, fragment):
    with pytest.raises(FormulaError) as caught:
        parse(text, kind=kind)
    assert fragment in caught.value.message
    assert caught.value.position == position
    assert f"at position {position + 1}:" in str(caught.value)


def test_names_outside_the_allowed_set_are_refused_at_their_position():
    formula = parse("psnr + 10*sim")
    with pytest.raises(FormulaError) as caught:
        formula.check_names({"psnr", "ssim"}, lambda name: f"unknown name {name!r}")
    assert caught.value.position == 10 and "'sim'" in caught.value.message


def test_runtime_values_without_a_meaning_raise_an_evaluation_error_not_a_crash():
    with pytest.raises(FormulaEvaluationError, match="division by zero"):
        parse("1 / runtime").evaluate({"runtime": 0.0})
    with pytest.raises(FormulaEvaluationError, match="not positive"):
        parse("log(x)").evaluate({"x": -1.0})
    with pytest.raises(FormulaEvaluationError, match="not a number"):
        parse("psnr - psnr").evaluate({"psnr": math.inf})
    with pytest.raises(FormulaEvaluationError, match="psnr is missing"):
        parse("psnr").evaluate({})


def test_exp_overflow_is_infinity_so_that_the_entry_ranks_last_on_a_lower_first_board():
    assert parse("exp(2 * runtime)").evaluate({"runtime": 1e6}) == math.inf


def test_the_parser_never_evaluates_python():
    for text in ("__import__('os')", "psnr.real", "[1]", "psnr if 1 else 2", "'a'"):
        with pytest.raises(FormulaError):
            parse(text)
