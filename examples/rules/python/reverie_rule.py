"""Helpers for a reverie rule in Python (made by `reverie rule new --lang python`).

- `guarded`: a class decorator for the `Analyser`. componentize-py returns a contract error
  (`result<_, string>`) only for `componentize_py_types.Err(text)`; any other exception aborts
  the rule, and the host then reports a panic with whatever the runtime printed. Guarded, any
  exception becomes `Err` carrying its traceback, which the report shows as the rule's error.
- `setting_or`: a setting from the host config, parsed, with a clear error when it is wrong.
"""

import functools
import json
import traceback
from typing import Callable, TypeVar

from componentize_py_types import Err

# The host keeps at most this many interaction ids per pattern.
MAX_EVIDENCE = 5000

# The resource's methods the host calls; `create` is a classmethod.
_METHODS = ("create", "detect", "analyse", "finish")

T = TypeVar("T")


def _errors_as_text(method: Callable) -> Callable:
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except Err:
            # Already the contract's error value: the rule meant it.
            raise
        except BaseException:
            raise Err(traceback.format_exc().rstrip()) from None

    return wrapper


def guarded(cls: type) -> type:
    """Turn any exception raised by the class's `create`, `detect`, `analyse` or `finish`
    into the contract's error string: the exception's traceback."""
    for name in _METHODS:
        method = cls.__dict__.get(name)
        if isinstance(method, classmethod):
            setattr(cls, name, classmethod(_errors_as_text(method.__func__)))
        elif callable(method):
            setattr(cls, name, _errors_as_text(method))
    return cls


def setting_or(context, name: str, default: T, parse: Callable[[str], T]) -> T:
    """The setting `name` of the cycle's context parsed by `parse` (e.g. `int`), or `default`
    when the operator set none. A value `parse` refuses fails the rule with a message naming
    the setting, as the Rust SDK's `setting_or` does."""
    for key, raw in context.settings:
        if key == name:
            try:
                return parse(raw.strip())
            except ValueError:
                raise Err(f"setting `{name}`: cannot parse {json.dumps(raw)}") from None
    return default
