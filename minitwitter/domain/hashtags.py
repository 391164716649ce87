"""Hashtags in post text: `#` then Unicode letters, digits or `_`, not digits alone,
up to 100 characters, compared case-insensitively and stored without `#`."""

import re
import unicodedata

MAX_LENGTH = 100
# A tag starts after the start of the text or a character that is not part of a word
# (so "a#b" and "##x" hold no tag) and runs to the end of the word.
TAG = re.compile(r"(?<![\w#])#(\w+)")
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


def in_order(text):
    """The distinct tags of a text, in order of first use (the order a post shows them in)."""
    tags = dict.fromkeys(normalize(match) for match in TAG.findall(text))
    tags.pop(None, None)
    return list(tags)


def parse(text):
    """The distinct tags of a post, sorted (the order tag rows are locked in)."""
    return sorted(in_order(text))


def order_of_use(text, names):
    """A post's stored tag names in order of first use in its text (any the text no longer
    names, which a change of these rules could leave, come last, by name)."""
    position = {name: i for i, name in enumerate(in_order(text))}
    return sorted(names, key=lambda name: (position.get(name, len(position)), name))
