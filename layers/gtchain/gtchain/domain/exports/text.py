"""Text in the formats' own syntax: numbers, YAML strings, XML-safe characters."""

import math
import re

# XML 1.0 cannot hold these at all, escaped or not.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def number(value: float) -> str:
    """A coordinate as written: integers without ".0", other values as Python's shortest round-trip repr."""
    if math.isfinite(value) and value == int(value) and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def xml_text(text: str) -> str:
    """Characters XML 1.0 cannot represent become U+FFFD; ElementTree escapes the rest (&, <, >, quotes)."""
    return _NOT_XML.sub("\ufffd", text)


def yaml_string(text: str) -> str:
    """A YAML double-quoted scalar. Everything outside YAML's printable set, and the characters YAML reads as
    line breaks (NEL, LS, PS), is escaped, so any label or URI reads back as the same string."""
    out = ['"']
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif (
            (0x20 <= code <= 0x7E)
            or (0xA0 <= code <= 0xD7FF and code not in (0x2028, 0x2029))
            or (0xE000 <= code <= 0xFFFD and code != 0xFEFF)
            or code >= 0x10000
        ):
            out.append(char)
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        else:
            out.append(f"\\u{code:04x}")
    out.append('"')
    return "".join(out)
