"""Score formulas and gates: a small expression language, parsed by our own tokenizer and a Pratt
(precedence-climbing) parser. Never `eval`: the only operations are the ones listed here.

    score:  0.7*exp(2*runtime/0.0218) + 0.15*exp(2*flops/16.70e9) + 0.15*exp(2*params/0.276e6)
    gate:   psnr >= 26.90 and (ssim > 0.7 or lpips < 0.2)

Numbers (`26.9`, `.5`, `16.70e9`), names (metrics and measured quantities), `+ - * /`, unary `-`,
parentheses, `min(a, b, ...)`, `max(a, b, ...)`, `exp(x)`, `log(x)` (natural), `abs(x)`,
`clip(x, low, high)`; conditions: `>= <= > < == !=`, `and`, `or`, `not`. Precedence, lowest first:
`or`, `and`, `not`, comparisons (not chained), `+ -`, `* /`, unary `-`.

A formula is checked when it is parsed (syntax, function arity, types: a score is a number, a gate
a condition) and against the names a track may use (`check_names`); constant division by zero and
constant `log` of a non-positive number are refused. Every error carries the 0-based position of the
offending token in the text. Evaluation is IEEE-like where that is harmless (exp overflow gives
+inf) and refuses the rest (division by zero, log of a non-positive number, NaN) with
`FormulaEvaluationError`, so one entry's undefined score never breaks a leaderboard.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

MAX_LENGTH = 2000
MAX_DEPTH = 60

FUNCTIONS: dict[str, tuple[int, int | None]] = {  # name -> (min args, max args or None)
    "min": (2, None),
    "max": (2, None),
    "exp": (1, 1),
    "log": (1, 1),
    "abs": (1, 1),
    "clip": (3, 3),
}
KEYWORDS = ("and", "or", "not")
COMPARISONS = (">=", "<=", "==", "!=", ">", "<")


class FormulaError(ValueError):
    """A formula that cannot be parsed or is not allowed; `position` is the 0-based offset in the text
    (the message gives it 1-based, as the character a reader counts to)."""

    def __init__(self, message: str, position: int) -> None:
        self.message = message
        self.position = position
        super().__init__(f"at position {position + 1}: {message}")


class FormulaEvaluationError(ArithmeticError):
    """The formula has no value for these inputs (division by zero, a missing input, ...)."""


@dataclass(frozen=True)
class Token:
    kind: str  # "number", "name", "op", "end"
    text: str
    position: int
    value: float = 0.0


_TOKEN = re.compile(
    r"\s*(?:(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>>=|<=|==|!=|[-+*/(),<>]))"
)


def tokenize(text: str) -> list[Token]:
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"is {len(text)} characters long; at most {MAX_LENGTH}", MAX_LENGTH)
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            start = position + len(text[position:]) - len(text[position:].lstrip())
            char = text[start]
            hint = " (powers: use exp and log)" if char == "^" else ""
            raise FormulaError(f"unexpected character {char!r}{hint}", start)
        kind = match.lastgroup
        start = match.start(kind)
        word = match.group(kind)
        if kind == "number":
            tokens.append(Token("number", word, start, float(word)))
        elif kind == "name" and word in KEYWORDS:
            tokens.append(Token("op", word, start))
        else:
            tokens.append(Token(kind, word, start))
        position = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


# The syntax tree. `kind` is "number" or "condition" (checked while parsing).
@dataclass(frozen=True)
class Node:
    position: int


@dataclass(frozen=True)
class Number(Node):
    value: float


@dataclass(frozen=True)
class Name(Node):
    name: str


@dataclass(frozen=True)
class Unary(Node):
    op: str  # "-", "+", "not"
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str  # arithmetic, comparison, "and", "or"
    left: Node
    right: Node


@dataclass(frozen=True)
class Call(Node):
    function: str
    args: tuple[Node, ...]


_INFIX_POWER = {"or": 10, "and": 20, **{c: 30 for c in COMPARISONS}, "+": 40, "-": 40, "*": 50, "/": 50}
_NOT_POWER = 25
_NEGATE_POWER = 60


def _start(node: Node) -> int:
    """Where a subexpression begins in the text (a binary node's own position is its operator's)."""
    while isinstance(node, Binary):
        node = node.left
    return node.position


def _kind(node: Node) -> str:
    if isinstance(node, Binary) and (node.op in COMPARISONS or node.op in ("and", "or")):
        return "condition"
    if isinstance(node, Unary) and node.op == "not":
        return "condition"
    return "number"


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.at = 0
        self.depth = 0

    def peek(self) -> Token:
        return self.tokens[self.at]

    def take(self) -> Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def expect(self, text: str, what: str) -> Token:
        token = self.peek()
        if token.kind != "op" or token.text != text:
            raise FormulaError(f"expected {what}, found {_describe(token)}", token.position)
        return self.take()

    def expression(self, min_power: int = 0) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FormulaError(f"is nested more than {MAX_DEPTH} levels deep", self.peek().position)
        left = self.prefix()
        while True:
            token = self.peek()
            power = _INFIX_POWER.get(token.text) if token.kind == "op" else None
            if power is None or power <= min_power:
                break
            self.take()
            right = self.expression(power)
            left = self.combine(token, left, right)
        self.depth -= 1
        return left

    def combine(self, token: Token, left: Node, right: Node) -> Node:
        op = token.text
        if op in ("and", "or"):
            for side in (left, right):
                if _kind(side) != "condition":
                    raise FormulaError(
                        f"'{op}' joins conditions (like psnr >= 26.9), not numbers", _start(side)
                    )
        else:
            if op in COMPARISONS and isinstance(left, Binary) and left.op in COMPARISONS:
                raise FormulaError("comparisons cannot be chained; join them with 'and'", token.position)
            for side in (left, right):
                if _kind(side) != "number":
                    raise FormulaError(f"'{op}' needs numbers on both sides, not a condition", _start(side))
        if op == "/":
            divisor = constant_value(right)
            if divisor == 0:
                raise FormulaError("division by zero (the divisor is a constant 0)", token.position)
        return Binary(token.position, op, left, right)

    def prefix(self) -> Node:
        token = self.take()
        if token.kind == "number":
            return Number(token.position, token.value)
        if token.kind == "name":
            if self.peek().kind == "op" and self.peek().text == "(":
                return self.call(token)
            if token.text in FUNCTIONS:
                raise FormulaError(f"{token.text} is a function: write {token.text}(...)", token.position)
            return Name(token.position, token.text)
        if token.kind == "op" and token.text in ("-", "+"):
            operand = self.expression(_NEGATE_POWER)
            if _kind(operand) != "number":
                raise FormulaError(f"'{token.text}' needs a number, not a condition", _start(operand))
            return Unary(token.position, token.text, operand)
        if token.kind == "op" and token.text == "not":
            operand = self.expression(_NOT_POWER)
            if _kind(operand) != "condition":
                raise FormulaError("'not' needs a condition, not a number", _start(operand))
            return Unary(token.position, "not", operand)
        if token.kind == "op" and token.text == "(":
            inner = self.expression()
            self.expect(")", "')'")
            return inner
        raise FormulaError(f"expected a number, a name or '(', found {_describe(token)}", token.position)

    def call(self, name: Token) -> Node:
        if name.text not in FUNCTIONS:
            raise FormulaError(
                f"unknown function {name.text!r}; functions: {', '.join(FUNCTIONS)}", name.position
            )
        self.expect("(", "'('")
        args: list[Node] = []
        if not (self.peek().kind == "op" and self.peek().text == ")"):
            while True:
                arg = self.expression()
                if _kind(arg) != "number":
                    raise FormulaError(f"{name.text}() takes numbers, not conditions", _start(arg))
                args.append(arg)
                if self.peek().kind == "op" and self.peek().text == ",":
                    self.take()
                    continue
                break
        self.expect(")", "',' or ')'")
        low, high = FUNCTIONS[name.text]
        if len(args) < low or (high is not None and len(args) > high):
            wanted = f"{low}" if low == high else f"at least {low}"
            raise FormulaError(f"{name.text}() takes {wanted} argument(s), got {len(args)}", name.position)
        node = Call(name.position, name.text, tuple(args))
        if name.text == "log":
            value = constant_value(args[0])
            if value is not None and value <= 0:
                raise FormulaError("log of a constant that is not positive", _start(args[0]))
        if name.text == "clip":
            low_value, high_value = constant_value(args[1]), constant_value(args[2])
            if low_value is not None and high_value is not None and low_value > high_value:
                raise FormulaError("clip(x, low, high) with low above high", name.position)
        return node


def _describe(token: Token) -> str:
    return "the end of the formula" if token.kind == "end" else repr(token.text)


def constant_value(node: Node) -> float | None:
    """The value of a subtree that uses no names (None if it uses one, or has no value)."""
    if names_in(node):
        return None
    try:
        return _compile(node)({})
    except FormulaEvaluationError:
        return None


def names_in(node: Node) -> list[str]:
    """The names a subtree uses, each once, in order of first appearance."""
    found: list[str] = []

    def walk(n: Node) -> None:
        if isinstance(n, Name):
            if n.name not in found:
                found.append(n.name)
        elif isinstance(n, Unary):
            walk(n.operand)
        elif isinstance(n, Binary):
            walk(n.left)
            walk(n.right)
        elif isinstance(n, Call):
            for arg in n.args:
                walk(arg)

    walk(node)
    return found


def _name_positions(node: Node) -> list[Name]:
    if isinstance(node, Name):
        return [node]
    if isinstance(node, Unary):
        return _name_positions(node.operand)
    if isinstance(node, Binary):
        return _name_positions(node.left) + _name_positions(node.right)
    if isinstance(node, Call):
        return [n for arg in node.args for n in _name_positions(arg)]
    return []


def _checked(value: float) -> float:
    if math.isnan(value):
        raise FormulaEvaluationError("the result is not a number (e.g. inf - inf)")
    return value


def _divide(a: float, b: float) -> float:
    if b == 0:
        raise FormulaEvaluationError("division by zero")
    return _checked(a / b)


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _log(x: float) -> float:
    if x <= 0:
        raise FormulaEvaluationError(f"log of {x:g}, which is not positive")
    return math.log(x)


def _clip(x: float, low: float, high: float) -> float:
    if low > high:
        raise FormulaEvaluationError(f"clip with low {low:g} above high {high:g}")
    return min(max(x, low), high)


_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: _checked(a + b),
    "-": lambda a, b: _checked(a - b),
    "*": lambda a, b: _checked(a * b),
    "/": _divide,
}
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}
_CALLS: dict[str, Callable[..., float]] = {
    "min": min,
    "max": max,
    "exp": _exp,
    "log": _log,
    "abs": abs,
    "clip": _clip,
}

Evaluator = Callable[[Mapping[str, float]], "float | bool"]


def _compile(node: Node) -> Evaluator:
    """A closure tree: evaluating it is a few function calls per node, no tree walking. (A leaderboard
    evaluates each formula once per entry on every cold read, so the common shapes get closures of
    their own: arithmetic without a table lookup, a constant operand inlined, one-argument calls
    without packing their arguments.)"""
    if isinstance(node, Number):
        value = node.value
        return lambda env: value
    if isinstance(node, Name):
        name = node.name

        def lookup(env: Mapping[str, float]) -> float:
            try:
                return env[name]
            except KeyError:
                raise FormulaEvaluationError(f"{name} is missing") from None

        return lookup
    if isinstance(node, Unary):
        inner = _compile(node.operand)
        if node.op == "not":
            return lambda env: not inner(env)
        if node.op == "-":
            return lambda env: -inner(env)
        return inner
    if isinstance(node, Binary):
        return _compile_binary(node)
    assert isinstance(node, Call)
    function = _CALLS[node.function]
    args = [_compile(arg) for arg in node.args]
    if len(args) == 1:
        (only,) = args
        return lambda env: _checked(function(only(env)))
    return lambda env: _checked(function(*[arg(env) for arg in args]))


def _compile_binary(node: Binary) -> Evaluator:
    left, right = _compile(node.left), _compile(node.right)
    op = node.op
    if op == "and":
        return lambda env: left(env) and right(env)
    if op == "or":
        return lambda env: left(env) or right(env)
    if op in _COMPARE:
        compare = _COMPARE[op]
        return lambda env: compare(left(env), right(env))
    if op == "/" and not (isinstance(node.right, Number) and node.right.value != 0):
        return lambda env: _divide(left(env), right(env))
    # The same results as `_ARITHMETIC` (a constant divisor is never zero here).
    if isinstance(node.right, Number):
        k = node.right.value
        if op == "+":
            return lambda env: _checked(left(env) + k)
        if op == "-":
            return lambda env: _checked(left(env) - k)
        if op == "*":
            return lambda env: _checked(left(env) * k)
        return lambda env: _checked(left(env) / k)
    if isinstance(node.left, Number):
        k = node.left.value
        if op == "+":
            return lambda env: _checked(k + right(env))
        if op == "-":
            return lambda env: _checked(k - right(env))
        if op == "*":
            return lambda env: _checked(k * right(env))
    if op == "+":
        return lambda env: _checked(left(env) + right(env))
    if op == "-":
        return lambda env: _checked(left(env) - right(env))
    if op == "*":
        return lambda env: _checked(left(env) * right(env))
    return lambda env: _divide(left(env), right(env))


@dataclass(frozen=True, eq=False)
class Formula:
    """A parsed, checked formula. `kind` is "number" (a score) or "condition" (a gate)."""

    text: str
    tree: Node
    kind: str
    names: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_run", _compile(self.tree))

    def evaluate(self, values: Mapping[str, float]) -> float | bool:
        """The value for `values` (name -> number); raises `FormulaEvaluationError` if it has none."""
        return self._run(values)  # type: ignore[attr-defined]

    def check_names(self, allowed: Collection[str], explain: Callable[[str], str]) -> None:
        """Refuse the first name not in `allowed`; `explain(name)` says why it is refused."""
        for node in _name_positions(self.tree):
            if node.name not in allowed:
                raise FormulaError(explain(node.name), node.position)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Formula) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def parse(text: str, *, kind: str = "number") -> Formula:
    """Parse a score (`kind="number"`) or a gate (`kind="condition"`); raise `FormulaError`."""
    if not isinstance(text, str) or not text.strip():
        raise FormulaError("is empty", 0)
    parser = _Parser(text)
    tree = parser.expression()
    end = parser.peek()
    if end.kind != "end":
        raise FormulaError(f"unexpected {_describe(end)} after a complete expression", end.position)
    actual = _kind(tree)
    if actual != kind:
        wanted = "a number (a score)" if kind == "number" else "a condition (like psnr >= 26.90)"
        raise FormulaError(f"must be {wanted}, but it is a {actual}", tree.position)
    return Formula(text=text, tree=tree, kind=kind, names=tuple(names_in(tree)))
