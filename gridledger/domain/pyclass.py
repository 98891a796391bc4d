"""``python_class``: keep a value class an ordinary Python class when the core is compiled.

mypyc (issue 12, item 3) turns a class into a native class whose attributes check their
declared types when they are set: a value of another type raises ``TypeError`` inside the
generated ``__init__``, before ``__post_init__`` can convert it or refuse it with its own
message naming the field. Classes that accept more than their annotations say (a slot
``Direction`` where a ``GridDirection`` belongs, a float to be refused with a ``ValueError``)
must behave the same in both builds, so they stay Python classes (their methods are still
compiled). mypyc leaves a class with a decorator it does not know as a Python class
(mypyc/irbuild/util.py, ``is_implicit_extension_class``): this is such a decorator, and does
nothing at run time. None of these classes is on the hot path (built once per grid or per
funding payment).

Their ``__post_init__`` is still compiled, and a compiled read of a typed attribute converts
or checks the value before the code sees it (``True`` read as ``int`` comes back ``1``, a
float read as ``int | None`` raises ``TypeError``): a check of what the caller really passed
reads it with ``raw``.
"""

from __future__ import annotations

from typing import TypeVar

_C = TypeVar("_C", bound=type)


def python_class(cls: _C) -> _C:
    return cls


def raw(obj: object, name: str) -> object:
    """``obj.name`` as it was set, untyped (see the module docstring)."""
    return getattr(obj, name)
