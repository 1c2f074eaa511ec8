"""The one reader of what an executor, an outside agent or a worker hands back (result files,
a worker's claim and result, a queued task): bounded before it is read, and bounded as it is
parsed. Everything it refuses is an `UntrustedError` whose message says what is wrong.

- files: regular files only (never through a symbolic link, never a FIFO or device), of at
  most `limit` bytes: no more than limit + 1 bytes are ever read;
- JSON: UTF-8; nested at most `MAX_DEPTH` levels (checked before parsing: Python's parser
  recurses), numbers of at most `MAX_NUMBER` characters (Python refuses to convert more than
  4300 digits with a ValueError), no NaN or Infinity, no key twice in an object (two parsers
  could keep different ones), no lone surrogates (they cannot be written back as UTF-8);
- models: validated strictly (`1.0` or `"1"` is not an int, `true` is not a number).
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import stat
from collections.abc import Sequence
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from conductor.errors import ConductorError

if TYPE_CHECKING:
    from pydantic import BaseModel
    from pydantic_core import ErrorDetails

    M = TypeVar("M", bound=BaseModel)

DEFAULT_LIMIT = 1024 * 1024  # bytes of a file, unless the caller has a setting of its own
MAX_DEPTH = 64  # nesting of arrays and objects (a result file needs 2, a task 4)
MAX_NUMBER = 64  # characters of one number literal, sign, fraction and exponent included
SHOWN = 60  # characters of a wrong value quoted in a problem


class UntrustedError(ConductorError, ValueError):
    """Data from the other side that Conductor will not take. `problems` lists everything
    found (the message is the first); a ValueError too, as a malformed file always was."""

    def __init__(self, problems: Sequence[str], *, hint: str | None = None) -> None:
        super().__init__(problems[0] if len(problems) == 1 else "; ".join(problems), hint=hint)
        self.problems = list(problems)


def read_file(path: Path, *, limit: int = DEFAULT_LIMIT, setting: str | None = None) -> bytes:
    """The bytes of the regular file `path`, of at most `limit` bytes (`setting`: the policy
    setting that says so, for the message). FileNotFoundError when there is none."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UntrustedError([f"{path.name} is a symbolic link"]) from None
        raise
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UntrustedError([f"{path.name} is not a regular file"])
        data = handle.read(limit + 1)  # never more, whatever its size says (it may still grow)
    check_size(len(data), limit=limit, name=path.name, setting=setting)
    return data


def check_size(size: int, *, limit: int, name: str, setting: str | None = None) -> None:
    """Refuse `size` bytes over `limit` (before reading them, where the size is known first)."""
    if size > limit:
        said = f" ({setting})" if setting else ""
        raise UntrustedError([f"{name} is over the {limit}-byte limit{said}"])


class _Refusal(Exception):
    """Raised inside the parser's hooks; loads() names the data."""


def loads(raw: bytes | str, *, name: str, limit: int | None = None) -> Any:
    """`raw` as JSON, within the bounds above (`limit`: of its size in bytes, when it was not
    read through read_file already)."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if limit is not None:
        check_size(len(data), limit=limit, name=name)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        _refuse(name, f"not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start})")
    depth = nesting(data)
    if depth > MAX_DEPTH:
        _refuse(name, f"nested {depth} levels deep (at most {MAX_DEPTH})")
    try:
        value = json.loads(
            text,
            parse_int=_int,
            parse_float=_float,
            parse_constant=_constant,
            object_pairs_hook=_object,
        )
    except _Refusal as exc:
        _refuse(name, str(exc))
    except json.JSONDecodeError as exc:
        _refuse(name, f"Invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")
    except (RecursionError, MemoryError, ValueError) as exc:  # nothing above lets these through
        _refuse(name, f"unreadable JSON ({type(exc).__name__})")
    if LONE_SURROGATE.search(data) and not _text_everywhere(value):
        _refuse(name, "a string holds a lone surrogate escape (\\ud800-\\udfff): not text")
    return value


def load_object(raw: bytes | str, *, name: str, limit: int | None = None) -> dict[str, Any]:
    """`raw` as a JSON object (see loads)."""
    value = loads(raw, name=name, limit=limit)
    if not isinstance(value, dict):
        _refuse(name, f"must be a JSON object (it is {_kind(value)})")
    return value


def load_model(
    model: type[M],
    raw: bytes | str,
    *,
    name: str,
    what: str = "this file",
    schema: str | None = None,
    limit: int | None = None,
) -> M:
    """`raw` as a `model`, strictly: every problem of it in the error, each naming its field
    (`what` the data is, and `schema`: the `conductor schema` name that lists its fields)."""
    from pydantic import ValidationError

    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    loads(data, name=name, limit=limit)  # first the bounds: pydantic's own parser knows none of ours
    try:
        return model.model_validate_json(data, strict=True)
    except ValidationError as exc:
        problems = [
            f"{name}: {_field(e['loc'])}{_words(e, what, schema)}" for e in exc.errors(include_url=False)
        ]
        raise UntrustedError(problems or [f"{name}: invalid"]) from None
    except ValueError as exc:  # pydantic's reader refused what ours accepted
        _refuse(name, str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid")


# A JSON string from its quote to the closing one; or, unterminated, to the end (so no quote
# starts a match that fails: the scan stays linear).
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")
_STEP = [0] * 256
for _open, _close in (b"[]", b"{}"):
    _STEP[_open], _STEP[_close] = 1, -1
LONE_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")  # a surrogate escape: paired, or not


def nesting(data: bytes) -> int:
    """How deeply the arrays and objects of the JSON `data` nest, counted without parsing it
    (brackets inside strings do not count)."""
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _int(literal: str) -> int:
    if len(literal) > MAX_NUMBER:
        raise _Refusal(f"a number of {len(literal)} characters (at most {MAX_NUMBER})")
    return int(literal)


def _float(literal: str) -> float:
    if len(literal) > MAX_NUMBER:
        raise _Refusal(f"a number of {len(literal)} characters (at most {MAX_NUMBER})")
    value = float(literal)
    if not math.isfinite(value):
        raise _Refusal(f"a number too large to represent ({literal})")
    return value


def _constant(literal: str) -> NoReturn:
    raise _Refusal(f"{literal} is not a JSON number")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _Refusal(f"the key {shown(key)} appears twice in one object")
        found[key] = value
    return found


def _text_everywhere(value: Any) -> bool:
    """Every string (and key) of `value` can be written as UTF-8 (its depth is bounded)."""
    if isinstance(value, str):
        return _encodable(value)
    if isinstance(value, list):
        return all(_text_everywhere(item) for item in value)
    if isinstance(value, dict):
        return all(_encodable(key) and _text_everywhere(item) for key, item in value.items())
    return True


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _refuse(name: str, problem: str) -> NoReturn:
    raise UntrustedError([f"{name}: {problem}"]) from None


def _kind(value: Any) -> str:
    kinds = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else kinds.get(type(value), type(value).__name__)


def shown(value: Any) -> str:
    """`value` quoted for a message: its repr, cut at SHOWN characters."""
    text = repr(value)
    return text if len(text) <= SHOWN else text[: SHOWN - 3] + "..."


def _field(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) + ": " if loc else ""


def _words(error: ErrorDetails, what: str, schema: str | None) -> str:
    """pydantic's message, said plainly, with the wrong value when it helps."""
    kind, message = str(error["type"]), str(error["msg"])
    if kind == "missing":
        return "missing (it is required)"
    if kind == "extra_forbidden":
        listed = f" (`conductor schema {schema}` lists them)" if schema else ""
        return f"not a field of {what}{listed}"
    if kind == "model_type":
        return "must be a JSON object"
    message = message.removeprefix("Value error, ")
    if message.startswith("Input should be "):
        message = "must be " + message.removeprefix("Input should be ")
    if kind == "string_type":
        message = "must be a string"
    value = repr(error.get("input"))
    if kind in ("value_error", "string_too_long") or len(value) > SHOWN:
        return message
    return f"{message} (it is {value})"
