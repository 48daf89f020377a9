"""The one strict JSON reader for everything a user hands gtchain: chain.json and each manifest line.

Python's json module is lenient where gtchain cannot be. It keeps the last of two equal keys (a
manifest line could show the bucket allow-list one source-ref and Ground Truth another); it accepts
NaN, Infinity and numbers that overflow a 64-bit float (1e400 becomes inf); it raises ValueError,
not JSONDecodeError, for an integer over 4,300 digits and RecursionError for deep nesting; it decodes
an unpaired surrogate escape ("\\ud800") into a string that cannot be encoded again; and, given bytes,
it silently skips a byte order mark and even reads UTF-16. Here each of those is a JsonInputError that
says what is wrong and where (line, column and the path of the key), so callers report it as bad input.

The fast path is the C parser with hooks that only take note; the slow, position-aware walk over the
tokens runs only when a hook noticed something, that is, only for input that is rejected anyway.
"""

import codecs
import json
import math
import re
from collections.abc import Iterator
from typing import Any

MAX_DEPTH = 64  # nesting of arrays and objects; Ground Truth's own manifests nest 4 deep
# An integer of more digits cannot be a finite 64-bit float (the largest is about 1.8e308, 309 digits).
_MAX_INT_DIGITS = 309

Path = tuple[str | int, ...]

_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"), (codecs.BOM_UTF8, "UTF-8"),
    (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16"),
)  # fmt: skip
# Text gtchain forwards must be valid Unicode without control characters: the AWS API's pattern for
# task text is [\t\n\r -\uD7FF\uE000-\uFFFD], and an unpaired surrogate cannot even be encoded as UTF-8.
_BAD_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
# A cheap test on the raw text for an escape that decodes to such a character (a surrogate escape is
# suspect only when unpaired); only then are the decoded strings checked one by one.
_SUSPECT_ESCAPE = re.compile(
    r"\\u(?:00[01][0-9a-fA-F]"  # a control character
    r"|[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])"  # a high surrogate without a low one after it
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2}\\u)[dD][c-fC-F][0-9a-fA-F]{2})"  # a low one without a high one before
)
# The pairing above is exact only if every \u starts an escape; after an escaped backslash ("\\ud800" is text)
# it may not, so then any surrogate escape is suspect.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_RAW_SURROGATE = re.compile("[\ud800-\udfff]")  # only a str argument can hold one: UTF-8 cannot encode it
_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_TOKEN = re.compile(
    r"""[ \t\n\r]*(?:
        (?P<string>"[^"\\]*(?:\\.[^"\\]*)*")
      | (?P<word>true|false|null|NaN|Infinity|-Infinity)
      | (?P<number>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)
      | (?P<punct>[{}\[\]:,])
    )""",
    re.VERBOSE,
)


class JsonInputError(ValueError):
    """What is wrong with a JSON input and where: line and column (1-based) and the path of the key."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None, path: Path = ()) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.path = path

    @property
    def field(self) -> str | None:
        """The path as chain.json's error reports name fields: keys and indexes joined by dots."""
        return ".".join(str(part) for part in self.path) or None


def decode_utf8(data: bytes) -> str:
    """UTF-8 without a byte order mark; anything else is an error that says which encoding it looks like."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            raise JsonInputError(_bom_message(encoding), line=1, column=1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        raise JsonInputError(
            f"not UTF-8: byte {exc.start + 1} (0x{data[exc.start]:02x}) is not valid UTF-8",
            line=data.count(b"\n", 0, exc.start) + 1,
            column=exc.start - line_start + 1,
        ) from None


def _bom_message(encoding: str) -> str:
    if encoding == "UTF-8":
        return "the text starts with a UTF-8 byte order mark (BOM): save the file as UTF-8 without a BOM"
    return f"the text is {encoding} (it starts with a {encoding} byte order mark, BOM): save the file as UTF-8"


def parse_json(data: bytes | str) -> Any:
    """Parse one JSON document (or one JSON Lines line), strictly; raise JsonInputError when it is bad.

    Rejected: a byte order mark, bytes that are not UTF-8, syntax errors, duplicate keys (compared after
    decoding escapes, so "source\\u002dref" duplicates "source-ref"), NaN and Infinity, numbers that are
    not finite as 64-bit floats, nesting deeper than MAX_DEPTH, and strings (keys too) holding an
    unpaired surrogate or a control character other than tab, newline and carriage return.
    """
    text = decode_utf8(data) if isinstance(data, bytes) else data
    if text.startswith("\ufeff"):
        raise JsonInputError(_bom_message("UTF-8"), line=1, column=1)
    if text.count("[") + text.count("{") > MAX_DEPTH:
        _check_depth(text)
    noticed: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(items)
        if len(obj) != len(items):
            noticed.append("duplicate key")
        return obj

    def constant(name: str) -> None:
        noticed.append(name)

    def integer(literal: str) -> int:
        if not _finite(literal):  # checked before int(), which raises ValueError from 4,301 digits on
            noticed.append("integer")
            return 0
        return int(literal)

    def real(literal: str) -> float:
        value = float(literal)
        if math.isinf(value):
            noticed.append("float")
        return value

    try:
        value = json.loads(text, object_pairs_hook=pairs, parse_constant=constant, parse_int=integer,
                           parse_float=real)  # fmt: skip
    except json.JSONDecodeError as exc:
        raise JsonInputError(f"not valid JSON: {exc.msg}", line=exc.lineno, column=exc.colno) from None
    except RecursionError:  # not reached after _check_depth; kept so deep input can never crash a caller
        raise JsonInputError(f"nested more than {MAX_DEPTH} levels deep") from None
    if noticed:
        raise _diagnose(text) or JsonInputError(f"not accepted: {noticed[0]}")
    if (
        _SUSPECT_ESCAPE.search(text)
        or ("\\\\" in text and _SURROGATE_ESCAPE.search(text))
        or (isinstance(data, str) and _RAW_SURROGATE.search(text))
    ):
        _check_strings(text, value)
    return value


def key_lines(text: str) -> dict[Path, int]:
    """The line of each key and array element, by path: where an error about a field should point."""
    lines: dict[Path, int] = {}
    for kind, path, offset, _ in _events(text):
        if kind != "close":
            lines.setdefault(path, _line_of(text, offset))  # a key's line, not its value's
    return lines


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _column_of(text: str, offset: int) -> int:
    return offset - (text.rfind("\n", 0, offset) + 1) + 1


def _error_at(text: str, offset: int, message: str, path: Path = ()) -> JsonInputError:
    return JsonInputError(message, line=_line_of(text, offset), column=_column_of(text, offset), path=path)


def _check_depth(text: str) -> None:
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        bracket = match.group()
        if bracket in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                offset = match.start()
                path = next((p for _, p, o, _ in _events(text) if o >= offset), ())
                field = path[:1] if path and isinstance(path[0], str) else ()  # where it starts, not 64 levels
                raise _error_at(text, offset, f"nested more than {MAX_DEPTH} levels deep", field)
        elif bracket in "]}":
            depth -= 1


def _events(text: str) -> Iterator[tuple[str, Path, int, str]]:
    """(kind, path, offset, lexeme) for each key, value and closing bracket of a syntactically valid document,
    in document order. kind is "key", "open" ({ or [), "close", "string", "number" or "word"."""
    stack: list[tuple[str, Path]] = []  # open containers: their bracket and path
    member: list[str | int] = []  # per open container: the current key (object) or index (array)
    expect_key = False  # in an object, after { or ,
    position = 0
    while match := _TOKEN.match(text, position):
        position = match.end()
        kind = match.lastgroup or ""
        lexeme = match.group(kind)
        offset = match.start(kind)
        if kind == "punct":
            if lexeme in "{[":
                path = _value_path(stack, member)
                yield "open", path, offset, lexeme
                stack.append((lexeme, path))
                member.append(0 if lexeme == "[" else "")
                expect_key = lexeme == "{"
            elif lexeme in "}]":
                yield "close", stack[-1][1], offset, lexeme
                stack.pop()
                member.pop()
            elif lexeme == ",":
                if stack[-1][0] == "[":
                    member[-1] = int(member[-1]) + 1
                else:
                    expect_key = True
        elif expect_key and kind == "string":
            expect_key = False
            member[-1] = json.loads(lexeme)
            yield "key", (*stack[-1][1], member[-1]), offset, lexeme
        else:
            yield kind, _value_path(stack, member), offset, lexeme


def _value_path(stack: list[tuple[str, Path]], member: list[str | int]) -> Path:
    return (*stack[-1][1], member[-1]) if stack else ()


def _diagnose(text: str) -> JsonInputError | None:
    """The first thing the hooks objected to, with its position and path."""
    keys: dict[Path, set[str]] = {}
    for kind, path, offset, lexeme in _events(text):
        if kind == "open" and lexeme == "{":
            keys[path] = set()
        elif kind == "key":
            seen = keys.setdefault(path[:-1], set())
            name = str(path[-1])
            if name in seen:
                written = "" if lexeme == json.dumps(name, ensure_ascii=False) else f" (written {lexeme})"
                return _error_at(
                    text, offset,
                    f"duplicate key {json.dumps(name, ensure_ascii=False)}{written}: which one a reader keeps "
                    "is not defined, so a key may appear only once per object",
                    path,
                )  # fmt: skip
            seen.add(name)
        elif kind == "word" and lexeme in ("NaN", "Infinity", "-Infinity"):
            return _error_at(text, offset, f"{lexeme} is not a JSON number", path)
        elif kind == "number" and not _finite(lexeme):
            shown = lexeme if len(lexeme) <= 24 else f"{lexeme[:12]}...({len(lexeme)} characters)"
            return _error_at(text, offset, f"number {shown} is out of range: it must be finite as a 64-bit float "
                                           "(at most about 1.8e308)", path)  # fmt: skip
    return None


def _finite(literal: str) -> bool:
    """Whether a JSON number literal is finite as a 64-bit float, without converting long integers."""
    if "." in literal or "e" in literal or "E" in literal:
        return not math.isinf(float(literal))
    digits = len(literal) - literal.startswith("-")
    if digits < _MAX_INT_DIGITS:
        return True
    if digits > _MAX_INT_DIGITS:
        return False
    try:
        float(int(literal))
    except OverflowError:
        return False
    return True


def _check_strings(text: str, value: Any) -> None:
    """Every key and string value must be valid Unicode without control characters (tab, newline, CR allowed)."""
    pending: list[tuple[Path, Any]] = [((), value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, dict):
            for key, inner in item.items():
                if bad := _BAD_CHAR.search(key):
                    raise _string_error(text, (*path, key), bad.group(), "key")
                pending.append(((*path, key), inner))
        elif isinstance(item, list):
            pending.extend(((*path, index), inner) for index, inner in enumerate(item))
        elif isinstance(item, str) and (bad := _BAD_CHAR.search(item)):
            raise _string_error(text, path, bad.group(), "value")


def _string_error(text: str, path: Path, char: str, where: str) -> JsonInputError:
    what = (
        f"an unpaired surrogate (\\u{ord(char):04x}), which is not valid Unicode"
        if "\ud800" <= char <= "\udfff"
        else f"the control character U+{ord(char):04X}; only tab, newline and carriage return are allowed"
    )
    kinds = ("key",) if where == "key" else ("string", "open")
    offset = next((o for kind, p, o, _ in _events(text) if p == path and kind in kinds), None)
    if offset is None:
        return JsonInputError(f"the {where} holds {what}", path=path)
    return _error_at(text, offset, f"the {where} holds {what}", path)
