"""A board's order as SQL, to pick each team's representative submission inside PostgreSQL (sorting
10,000 submissions in Python would cost more than the whole leaderboard may take).

The formula tree of `evaluator.ranking.formula` becomes a Django expression over the submission's
stored scores and measurements. Where SQL would raise (division by zero, log of a non-positive
number, float overflow) the expression is NULL instead, which sorts last, as the Python ranking
leaves such entries unranked; `exp` is capped at exp(300) so that sums and products of large terms
stay finite. Only the choice of representative uses this; the ranking itself is `evaluator.ranking`.
"""

from django.db.models import BooleanField, Expression, F, FloatField, Func, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Abs, Cast, Greatest, Least, NullIf

from evaluator.ranking import FormulaBoard, MetricsBoard
from evaluator.ranking.formula import Binary, Call, Formula, Name, Node, Number, Unary

# Formula names of measured quantities -> the submission's columns.
QUANTITY_COLUMNS = {
    "runtime": "model_seconds_per_image",
    "params": "model_parameters",
    "peak_memory": "model_peak_memory_bytes",
    "flops": "model_flops",
}
EXP_CAP = 300.0
_NAN = Value(float("nan"))


def metric_value(name: str) -> Expression:
    # The evaluator stores non-finite values as "inf", "-inf" and "nan"; NaN becomes NULL.
    return NullIf(Cast(KeyTextTransform(name, "scores"), FloatField()), _NAN)


def _name(name: str) -> Expression:
    if name in QUANTITY_COLUMNS:
        return Cast(F(QUANTITY_COLUMNS[name]), FloatField())
    return metric_value(name)


class _Sql(Func):
    """`template % (each argument's SQL)`: operators and SQL constructs Django has no class for."""

    def __init__(self, template: str, *args: Expression, output_field) -> None:
        super().__init__(*args, output_field=output_field)
        self.sql_template = template

    def as_sql(self, compiler, connection, **extra) -> tuple[str, list]:
        parts, params = [], []
        for arg in self.get_source_expressions():
            sql, arg_params = compiler.compile(arg)
            parts.append(sql)
            params.extend(arg_params)
        return self.sql_template % tuple(parts), params


def _op(template: str, *args: Expression, boolean: bool = False) -> Func:
    return _Sql(template, *args, output_field=BooleanField() if boolean else FloatField())


def _all_or_null(value: Expression, args: list[Expression]) -> Expression:
    # LEAST/GREATEST skip NULLs in PostgreSQL; the formula has no value when an argument has none.
    checks = " OR ".join(["%s IS NULL"] * len(args))
    return _op(f"(CASE WHEN {checks} THEN NULL ELSE %s END)", *args, value)


def to_sql(node: Node) -> Expression:
    if isinstance(node, Number):
        return Cast(Value(node.value), FloatField())
    if isinstance(node, Name):
        return _name(node.name)
    if isinstance(node, Unary):
        inner = to_sql(node.operand)
        if node.op == "not":
            return _op("(NOT %s)", inner, boolean=True)
        return _op("(-%s)", inner) if node.op == "-" else inner
    if isinstance(node, Binary):
        left, right = to_sql(node.left), to_sql(node.right)
        if node.op in ("and", "or"):
            return _op(f"(%s {node.op.upper()} %s)", left, right, boolean=True)
        if node.op in (">=", "<=", ">", "<", "==", "!="):
            op = {"==": "=", "!=": "<>"}.get(node.op, node.op)
            return _op(f"(%s {op} %s)", left, right, boolean=True)
        if node.op == "/":
            return _op("(%s / NULLIF(%s, 0.0))", left, right)
        return _op(f"(%s {node.op} %s)", left, right)
    assert isinstance(node, Call)
    args = [to_sql(arg) for arg in node.args]
    if node.function == "exp":
        return _op("EXP(LEAST(%s, %s))", args[0], Value(EXP_CAP, FloatField()))
    if node.function == "log":
        return _op("LN(NULLIF(GREATEST(%s, 0.0), 0.0))", args[0])
    if node.function == "abs":
        return Abs(args[0])
    if node.function == "clip":
        return _all_or_null(Least(Greatest(args[0], args[1]), args[2]), args)
    combine = Least if node.function == "min" else Greatest
    return _all_or_null(combine(*args), args)


def formula_sql(formula: Formula) -> Expression:
    return to_sql(formula.tree)


def board_order_by(board: MetricsBoard | FormulaBoard) -> list:
    """ORDER BY terms that put a team's best submission on `board` first (gate passed, then score)."""
    order: list = []
    if board.gate is not None:
        order.append(formula_sql(board.gate).desc(nulls_last=True))
    if isinstance(board, FormulaBoard):
        score = NullIf(formula_sql(board.score), _NAN)
        order.append(
            score.asc(nulls_last=True) if board.order == "lower_first" else score.desc(nulls_last=True)
        )
        return order
    for metric in board.rule.metrics:
        value = metric_value(metric.metric)
        order.append(value.desc(nulls_last=True) if metric.higher_is_better else value.asc(nulls_last=True))
    return order
