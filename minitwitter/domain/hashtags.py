"""Hashtags in post text: `#` then Unicode letters, digits or `_`, not digits alone,
up to 100 characters, compared case-insensitively and stored without `#`."""

import re
import unicodedata

MAX_LENGTH = 100
# A tag starts after the start of the text or a character that is not part of a word
# (so "a#b" and "##x" hold no tag) and runs to the end of the word.
_TAG = re.compile(r"(?<![\w#])#(\w+)")
_WORD = re.compile(r"\w+")


def normalize(name):
    """The stored form of a tag typed by a user (with or without '#'), or None.

    Case folding can lengthen a name ("ß" folds to "ss") and leave combining marks ("İ"
    folds to "i" and U+0307), so the folded, composed form is what is checked: a stored name
    fits hashtags.name and is itself a valid tag (normalize(normalize(x)) == normalize(x)).
    """
    name = name[1:] if name.startswith("#") else name
    if not name or not _WORD.fullmatch(name):
        return None
    folded = unicodedata.normalize("NFC", name.casefold())
    if not _WORD.fullmatch(folded):  # a mark no composed character holds, as after "İ"
        folded = "".join(c for c in folded if unicodedata.category(c) != "Mn")
    if len(folded) > MAX_LENGTH or not _WORD.fullmatch(folded) or re.fullmatch(r"\d+", folded):
        return None
    return folded


def parse(text):
    """The distinct tags of a post, sorted (the order tag rows are locked in)."""
    tags = {normalize(match) for match in _TAG.findall(text)}
    tags.discard(None)
    return sorted(tags)
