"""The colander types of every input field, wherever it comes from (JSON, a form, the path,
the query string), so that one rule holds for each kind of value:

- Text: a string (not a number, a list or an uploaded file), valid Unicode (no lone
  surrogates, which JSON's "\\ud800" can smuggle in and nothing downstream can encode),
  in NFC (what one keyboard types as "e" + U+0301 and another as "é" is one string).
- Integer: an integer (a JSON number without a fraction, 42 or 42.0 as JSON Schema has it, or
  ASCII digits in a form, path or query), never a bool, 42.5 or "4_2": `true` is not post 1
  and 42.5 is not post 42.
"""

import re
import unicodedata

import colander

# Patterns are checked here by Python's re and by clients as ECMA-262 (JSON Schema), where
# \s is another class (Python's takes U+0085 and U+001C-U+001F, ECMA's U+FEFF), so whitespace
# is spelled out: SPACES is what str.isspace() and str.strip() call whitespace.
SPACES = r"\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# Control characters refused inside post text (newline, carriage return and tab are fine).
# (Lone surrogates are refused too, but left out of the pattern: JSON Schema tools choke on them.)
TEXT_CONTROLS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"


def trimmed_pattern(max_length, controls):
    """The JSON Schema pattern of a string that is 1 to max_length characters once
    trimmed and holds none of `controls` (a regex class body) inside."""
    inner, edge = f"[^{controls}]", f"[^{SPACES}{controls}]"
    return rf"^[{SPACES}]*{edge}({inner}{{0,{max_length - 2}}}{edge})?[{SPACES}]*$"


_SURROGATES = re.compile(r"[\ud800-\udfff]")
_DIGITS = re.compile(r"-?[0-9]{1,19}")


def has_surrogates(text):
    """Lone surrogates: from JSON's "\\ud800", or bytes that were not UTF-8 decoded with
    surrogateescape (ingress.py)."""
    return _SURROGATES.search(text) is not None


def _once(node, cstruct):
    """A form or query field given more than once arrives as a list."""
    if isinstance(cstruct, list):
        raise colander.Invalid(node, "Give this field once")


class Text(colander.String):
    def __init__(self, nfc=True, **kw):
        super().__init__(**kw)
        self.nfc = nfc

    def deserialize(self, node, cstruct):
        if cstruct is colander.null:
            return colander.null
        _once(node, cstruct)
        if hasattr(cstruct, "filename"):  # a multipart file part (multipart.MultipartPart)
            raise colander.Invalid(node, "Must be a text field, not a file")
        if not isinstance(cstruct, str):
            raise colander.Invalid(node, "Must be a string")
        if has_surrogates(cstruct):
            raise colander.Invalid(node, "Must be valid Unicode (a lone surrogate is not a character)")
        value = super().deserialize(node, cstruct)
        if self.nfc and isinstance(value, str):
            value = unicodedata.normalize("NFC", value)
        return value


class Integer(colander.Integer):
    def deserialize(self, node, cstruct):
        if cstruct is colander.null:
            return colander.null
        _once(node, cstruct)
        if isinstance(cstruct, float) and cstruct.is_integer():
            cstruct = int(cstruct)  # JSON Schema's integer: 42.0 is 42, 42.5 is not an integer
        if isinstance(cstruct, bool) or not isinstance(cstruct, (int, str)):
            raise colander.Invalid(node, "Must be an integer")
        if isinstance(cstruct, str) and not _DIGITS.fullmatch(cstruct):
            raise colander.Invalid(node, "Must be an integer (ASCII digits)")
        return int(cstruct)


class NullableInteger(Integer):
    """An Integer that JSON may also give as null, which counts as absent (the node's
    `missing`): `"in_reply_to": null` is a post that replies to nothing."""

    def deserialize(self, node, cstruct):
        return colander.null if cstruct is None else super().deserialize(node, cstruct)
