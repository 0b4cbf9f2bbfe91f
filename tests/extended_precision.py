"""Evaluate a JAX function in extended precision (numpy longdouble) by interpreting its jaxpr.

The model is traced once to a jaxpr, and every primitive is then applied with numpy in longdouble: the
same operations as the float64 model, only rounded less (x86 longdouble has a 64-bit significand, ~2000x
float64).  This serves the precision and derivative tests as an independent, off-the-hot-path evaluation
of exactly the code under test, with no second copy of the physics.  Only the primitives the timing
model uses are supported; an unknown one raises.
"""

from __future__ import annotations

import jax
from jax.extend.core import Literal
import numpy as np
import pytest

LD = np.longdouble


def require_extended_longdouble() -> None:
    """Skip where longdouble is plain float64 (ARM macOS, Windows)."""
    if np.finfo(LD).eps > 1e-18:
        pytest.skip("numpy longdouble has no extra precision on this platform")


def _round(x, rounding_method=0, **_):
    if int(rounding_method) == 0:  # away from zero
        return np.sign(x) * np.floor(np.abs(x) + LD(0.5))
    return np.round(x)


def _broadcast_in_dim(x, shape, broadcast_dimensions, **_):
    x = np.asarray(x)
    expanded = [1] * len(shape)
    for src, dst in enumerate(broadcast_dimensions):
        expanded[dst] = x.shape[src]
    return np.broadcast_to(x.reshape(expanded), shape)


def _dot_general(a, b, dimension_numbers, **_):
    (ca, cb), (ba, bb) = dimension_numbers
    letters = iter("abcdefghijklmnopqrstuvwxyz")
    sa = [next(letters) for _ in range(np.ndim(a))]
    sb = [next(letters) for _ in range(np.ndim(b))]
    for i, j in zip(ca, cb):
        sb[j] = sa[i]
    for i, j in zip(ba, bb):
        sb[j] = sa[i]
    batch = [sa[i] for i in ba]
    free_a = [s for k, s in enumerate(sa) if k not in ca and k not in ba]
    free_b = [s for k, s in enumerate(sb) if k not in cb and k not in bb]
    spec = f"{''.join(sa)},{''.join(sb)}->{''.join(batch + free_a + free_b)}"
    return np.einsum(spec, a, b)


def _slice(x, start_indices, limit_indices, strides=None, **_):
    strides = strides or (1,) * len(start_indices)
    return x[tuple(slice(s, e, k) for s, e, k in zip(start_indices, limit_indices, strides))]


def _convert(x, new_dtype, **_):
    if np.issubdtype(new_dtype, np.floating):
        return np.asarray(x, dtype=LD)  # never round back to float64
    return np.asarray(x).astype(new_dtype)


def _gather(operand, indices, dimension_numbers, slice_sizes, mode, fill_value=None, **_):
    """The 1-D take ``x[idx]`` that jnp indexing lowers to (the only gather the residual function uses)."""
    dn = dimension_numbers
    if (np.ndim(operand) != 1 or tuple(slice_sizes) != (1,) or tuple(dn.collapsed_slice_dims) != (0,)
            or tuple(dn.start_index_map) != (0,) or tuple(dn.offset_dims) != ()):
        raise NotImplementedError(f"extended-precision gather: only 1-D takes, got {dn} {slice_sizes}")
    idx = np.asarray(indices)[..., 0].astype(int)
    if np.any((idx < 0) | (idx >= len(operand))):
        raise IndexError("extended-precision gather: index out of range")
    return np.asarray(operand)[idx]


def _select_n(which, *cases):
    return np.choose(np.asarray(which).astype(int), [np.broadcast_to(c, np.shape(which)) for c in cases])


_RULES = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b, "neg": lambda a: -a, "sign": np.sign, "floor": np.floor,
    "sin": np.sin, "cos": np.cos, "atan2": np.arctan2, "sqrt": np.sqrt, "log": np.log, "exp": np.exp,
    "is_finite": np.isfinite, "stop_gradient": lambda a: a, "cbrt": np.cbrt, "abs": np.abs, "tan": np.tan,
    "integer_pow": lambda a, y: a ** int(y), "round": _round, "broadcast_in_dim": _broadcast_in_dim,
    "dot_general": _dot_general, "slice": _slice, "convert_element_type": _convert, "select_n": _select_n,
    "squeeze": lambda a, dimensions: np.squeeze(a, axis=tuple(dimensions)),
    "reduce_sum": lambda a, axes, **_: np.sum(a, axis=tuple(axes)),
    "stack": lambda *xs, axis: np.stack(xs, axis=axis),
    "concatenate": lambda *xs, dimension: np.concatenate(xs, axis=dimension),
    "reshape": lambda a, new_sizes, **_: np.reshape(a, new_sizes),
    "max": np.maximum, "min": np.minimum, "lt": np.less, "gt": np.greater, "le": np.less_equal,
    "ge": np.greater_equal, "eq": np.equal, "ne": np.not_equal, "and": np.logical_and, "or": np.logical_or,
    "not": np.logical_not, "gather": _gather,
}
_KEYWORD_PARAMS = {"integer_pow": ("y",)}


def _as_ld(value):
    value = np.asarray(value)
    return value.astype(LD) if np.issubdtype(value.dtype, np.floating) else value


def _eval(jaxpr, consts, args):
    env = {}

    def read(v):
        return _as_ld(v.val) if isinstance(v, Literal) else env[v]

    for var, value in zip(jaxpr.constvars, consts):
        env[var] = _as_ld(value)
    for var, value in zip(jaxpr.invars, args):
        env[var] = value
    for eqn in jaxpr.eqns:
        inputs = [read(v) for v in eqn.invars]
        name = eqn.primitive.name
        if name in ("jit", "pjit", "closed_call", "core_call"):
            inner = eqn.params.get("jaxpr") or eqn.params.get("call_jaxpr")
            outputs = _eval(inner.jaxpr, inner.consts, inputs)
        elif name == "optimization_barrier":
            outputs = inputs
        elif name == "cond":  # lax.cond / switch: the branch its index picks
            branch = eqn.params["branches"][int(np.asarray(inputs[0]))]
            outputs = _eval(branch.jaxpr, branch.consts, inputs[1:])
        elif name in _RULES:
            params = dict(eqn.params)
            if name in ("integer_pow",):
                outputs = [_RULES[name](inputs[0], params["y"])]
            elif name in ("add", "sub", "mul", "div", "neg", "sign", "floor", "sin", "cos", "atan2", "sqrt", "cbrt",
                          "log", "exp", "is_finite", "stop_gradient", "abs", "tan", "max", "min", "lt", "gt",
                          "le", "ge", "eq", "ne", "and", "or", "not", "select_n"):
                outputs = [_RULES[name](*inputs)]
            else:
                outputs = [_RULES[name](*inputs, **params)]
        else:
            raise NotImplementedError(f"extended-precision evaluation has no rule for the primitive {name!r}")
        for var, value in zip(eqn.outvars, outputs):
            env[var] = value
    return [read(v) for v in jaxpr.outvars]


def extended(fn, example):
    """``fn`` (a pytree of float64 arrays -> arrays) as a numpy longdouble function of the same pytree."""
    closed = jax.make_jaxpr(fn)(example)
    treedef = jax.tree_util.tree_structure(example)
    out_tree = jax.tree_util.tree_structure(jax.eval_shape(fn, example))

    def run(tree):
        leaves = [_as_ld(x) for x in treedef.flatten_up_to(tree)]
        return jax.tree_util.tree_unflatten(out_tree, _eval(closed.jaxpr, closed.consts, leaves))

    return run


def ridders_derivative(f, x0, h0, *, shrink: float = 1.4, levels: int = 10):
    """df/dx at x0 for vector-valued f, by Richardson extrapolation of central differences (Ridders' method).

    Returns (derivative, error estimate); the step starts at h0 and shrinks by ``shrink`` per level; the
    extrapolation with the smallest estimated error (max over outputs) is kept.
    """
    shrink2 = shrink * shrink
    table = [[(f(x0 + h0) - f(x0 - h0)) / (2 * h0)]]
    best, error, h = table[0][0], np.inf, h0
    for i in range(1, levels):
        h /= shrink
        row = [(f(x0 + h) - f(x0 - h)) / (2 * h)]
        factor = shrink2
        for j in range(1, i + 1):
            row.append((row[j - 1] * factor - table[i - 1][j - 1]) / (factor - 1))
            factor *= shrink2
            estimate = max(np.abs(row[j] - row[j - 1]).max(), np.abs(row[j] - table[i - 1][j - 1]).max())
            if estimate <= error:
                error, best = estimate, row[j]
        table.append(row)
        if np.abs(row[i] - table[i - 1][i - 1]).max() >= 2 * error:
            break
    return best, error
