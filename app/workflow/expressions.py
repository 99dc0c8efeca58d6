"""The restricted evaluator for BPMN conditions, timer expressions and scripts.

SpiffWorkflow's default script engine runs ``eval``/``exec`` with full builtins: a diagram
edited in a browser would be remote code execution. Here every expression is checked
against an AST whitelist *when a definition is loaded* (so an unsafe diagram is refused
with the element named) and evaluated by ``simpleeval`` at run time. There are no loops,
comprehensions, lambdas, imports or attribute access, so evaluation is bounded.
Scripts are sequences of ``name = expression`` lines.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from simpleeval import EvalWithCompoundTypes

MAX_SOURCE = 2000

FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len,
    "min": min,
    "max": max,
    "abs": abs,
    "round": round,
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "sum": sum,
    "any": any,
    "all": all,
    "sorted": sorted,
}

_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.BinOp,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.Compare,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.Is,
    ast.IsNot,
    ast.IfExp,
    ast.Call,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.Subscript,
    ast.Slice,
    ast.List,
    ast.Tuple,
    ast.Dict,
    ast.Set,
)


class UnsafeExpression(ValueError):
    """The expression uses something the restricted evaluator will not run."""


def check_expression(source: str) -> None:
    """Raise ``UnsafeExpression`` unless ``source`` is an expression the whitelist allows."""
    if not isinstance(source, str) or not source.strip():
        raise UnsafeExpression("the expression is empty")
    if len(source) > MAX_SOURCE:
        raise UnsafeExpression(f"the expression is longer than {MAX_SOURCE} characters")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise UnsafeExpression(f"syntax error: {exc.msg}") from exc
    _check_tree(tree)


def _check_tree(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise UnsafeExpression(
                f"'{type(node).__name__}' is not allowed (no attributes, imports, lambdas, loops or comprehensions)"
            )
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise UnsafeExpression(f"the name '{node.id}' is not allowed (names may not start with '_')")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
                raise UnsafeExpression(f"the function '{name}' is not allowed; allowed: {', '.join(sorted(FUNCTIONS))}")
            if node.keywords:
                raise UnsafeExpression("keyword arguments are not allowed")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) > 500:
            raise UnsafeExpression("string constants longer than 500 characters are not allowed")
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            for side in (node.left, node.right):
                if isinstance(side, ast.Constant) and isinstance(side.value, int) and side.value > 10_000:
                    raise UnsafeExpression("multiplying by more than 10000 is not allowed")


def check_script(source: str) -> list[tuple[str, str]]:
    """Validate a script of ``name = expression`` lines; return the (name, expression) pairs."""
    if len(source) > MAX_SOURCE * 5:
        raise UnsafeExpression("the script is too long")
    try:
        module = ast.parse(source)
    except SyntaxError as exc:
        raise UnsafeExpression(f"syntax error on line {exc.lineno}: {exc.msg}") from exc
    pairs: list[tuple[str, str]] = []
    for stmt in module.body:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
            raise UnsafeExpression(f"line {stmt.lineno}: only assignments of the form 'name = expression' are allowed")
        name = stmt.targets[0].id
        if name.startswith("_"):
            raise UnsafeExpression(f"line {stmt.lineno}: the name '{name}' is not allowed")
        expr = ast.unparse(stmt.value)
        try:
            _check_tree(ast.Expression(body=stmt.value))
        except UnsafeExpression as exc:
            raise UnsafeExpression(f"line {stmt.lineno}: {exc}") from exc
        pairs.append((name, expr))
    return pairs


def _plain(value: Any) -> Any:
    """Task data may hold only JSON-like values (plus dates), never callables or objects."""
    if isinstance(value, (str, int, float, bool, type(None), date, datetime, timedelta)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    raise UnsafeExpression(f"a script produced a value of type {type(value).__name__}")


def evaluate(source: str, names: Mapping[str, Any]) -> Any:
    """Evaluate a whitelisted expression against task data."""
    check_expression(source)
    evaluator = EvalWithCompoundTypes(names=dict(names), functions=dict(FUNCTIONS))
    return evaluator.eval(source.strip())


def execute(source: str, data: dict[str, Any]) -> None:
    """Run a whitelisted script, assigning its results into ``data`` in order."""
    for name, expr in check_script(source):
        data[name] = _plain(evaluate(expr, data))


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
