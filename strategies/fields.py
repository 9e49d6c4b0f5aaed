"""Typed field checks for the frozen config dataclasses (called from their ``__post_init__``).

One checker reads each field's annotation (``int``, ``float``, ``bool``, ``str``,
``Literal[...]`` words, ``tuple[X, ...]``, ``X | None``) and checks the value, whether it
came from TOML, the Python API or a sweep. It also normalises what is unambiguous, so equal
configs hash equal: ints become floats in float fields, a list (or one string) becomes a
tuple in tuple fields, and the string ``"none"`` becomes ``None`` in an optional number
field (TOML has no null: ``stop_loss = "none"`` is "no stop", the same config as leaving the
field out of a preset without one). Ranges are each class's own business (see :func:`bad`).

Ground layer: imports nothing of evbt but :mod:`evbt.errors`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from collections.abc import Callable
from functools import cache
from typing import Any, Literal, TypeVar, get_args, get_origin

from evbt.errors import FieldError, unknown_key, unknown_table

T = TypeVar("T")

_MISSING = object()  # "no value given": read the field


def words(options: tuple[Any, ...]) -> str:
    """``("a", "b", "c")`` -> ``'"a", "b" or "c"'`` (for "use ..." fixes)."""
    q = [f'"{o}"' if isinstance(o, str) else repr(o) for o in options]
    return q[0] if len(q) == 1 else f"{', '.join(q[:-1])} or {q[-1]}"


def bad(obj: Any, table: str, name: str, fix: str, value: Any = _MISSING) -> FieldError:
    """The one-line error for field ``name`` of ``obj`` (a config dataclass)."""
    v = getattr(obj, name) if value is _MISSING else value
    return FieldError(type(obj).__name__, f"[{table}] {name} = {_show(v)}: {fix}")


def _show(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, tuple | list):
        return "[" + ", ".join(_show(x) for x in v) + "]"
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))  # as written in TOML: size = 5, not 5.0
    return repr(v)


def table(name: str, *, hidden: tuple[str, ...] = ()) -> Callable[[type[T]], type[T]]:
    """Class decorator for a config dataclass read from TOML table ``[name]``: an unknown
    keyword gets the same one-line "did you mean" error as an unknown TOML key (an
    ``InputError``, not a ``TypeError``). ``name = ""`` marks the whole config, whose
    keywords are tables; ``hidden`` fields are accepted but not offered as hints."""

    def deco(cls: type[T]) -> type[T]:
        names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        shown = [n for n in names if n not in hidden]
        init = cls.__init__

        @functools.wraps(init)
        def __init__(self: Any, *args: Any, **kw: Any) -> None:
            for k in kw:
                if k not in names:
                    if name:
                        raise unknown_key(cls.__name__, name, k, shown)
                    raise unknown_table(cls.__name__, k, shown)
            init(self, *args, **kw)

        cls.__init__ = __init__  # type: ignore[method-assign]
        return cls

    return deco


@cache
def _hints(cls: Any) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def check_fields(obj: Any, table: str) -> None:
    """Check every field of dataclass ``obj`` against its annotation; normalise in place."""
    cls: Any = type(obj)
    hints = _hints(cls)
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        new = _check(obj, table, f.name, value, hints[f.name])
        if new is not value:
            object.__setattr__(obj, f.name, new)


def _check(obj: Any, table: str, name: str, value: Any, tp: Any) -> Any:
    origin, args = get_origin(tp), get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        rest = [a for a in args if a is not type(None)]
        if _says_none(value) and type(None) in args and set(rest) <= {int, float}:
            return None  # TOML has no null: "none" is how a config says "no stop"
        if len(rest) == 1:
            try:
                return _check(obj, table, name, value, rest[0])
            except FieldError:
                if type(None) not in args:
                    raise
                also = ' or "none"' if rest[0] in (int, float) else ""
                raise bad(
                    obj, table, name, f"{_fix(rest[0])}{also}, or leave it out", value
                ) from None
        return value
    if origin is Literal:
        if value not in args or isinstance(value, bool):
            raise bad(obj, table, name, f"use {words(args)}", value)
        return value
    if origin is tuple:
        if isinstance(value, str):
            value = (value,)
        if not isinstance(value, list | tuple):
            raise bad(obj, table, name, _fix(tp), value)
        if len(args) == 2 and args[1] is Ellipsis:
            items = tuple(value)
            try:
                out = tuple(_check(obj, table, name, x, args[0]) for x in items)
            except FieldError:
                raise bad(obj, table, name, _fix(tp), value) from None
        else:
            if len(value) != len(args):
                raise bad(obj, table, name, _fix(tp), value)
            try:
                out = tuple(
                    _check(obj, table, name, x, a) for x, a in zip(value, args, strict=True)
                )
            except FieldError:
                raise bad(obj, table, name, _fix(tp), value) from None
        return out
    if tp is bool:
        if not isinstance(value, bool):
            raise bad(obj, table, name, _fix(tp), value)
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad(obj, table, name, _fix(tp), value)
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad(obj, table, name, _fix(tp), value)
        if not math.isfinite(value):
            raise bad(obj, table, name, "use a finite number", value)
        return value if type(value) is float else float(value)
    if tp is str:
        if not isinstance(value, str):
            raise bad(obj, table, name, _fix(tp), value)
        return value
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(value, tp):
            raise bad(obj, table, name, f"use a table (in Python: {tp.__name__}(...))", value)
        return value
    return value


def _says_none(value: Any) -> bool:
    """The string ``"none"`` (any case, spaces around): "no value" in a TOML config."""
    return isinstance(value, str) and value.strip().lower() == "none"


def _fix(tp: Any) -> str:
    origin, args = get_origin(tp), get_args(tp)
    if tp is bool:
        return "use true or false"
    if tp is int:
        return "use a whole number"
    if tp is float:
        return "use a number"
    if tp is str:
        return "use a string in quotes"
    if origin is Literal:
        return f"use {words(args)}"
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        inner = get_origin(args[0])
        if inner is Literal:
            return f"use a list of {words(get_args(args[0]))}"
        return 'use a list, e.g. ["NVDA", "AMD"]'
    if origin is tuple:
        return f"use a list of {len(args)} values"
    return f"use a {getattr(tp, '__name__', tp)}"
