"""Hashtags in post text: `#` then Unicode letters, digits or `_`, not digits alone,
up to 100 characters, compared case-insensitively and stored without `#`."""

import re

MAX_LENGTH = 100
# A tag starts after the start of the text or a character that is not part of a word
# (so "a#b" and "##x" hold no tag) and runs to the end of the word.
_TAG = re.compile(r"(?<![\w#])#(\w+)")


def normalize(name):
    """The stored form of a tag typed by a user (with or without '#'), or None."""
    name = name[1:] if name.startswith("#") else name
    if not name or len(name) > MAX_LENGTH or not re.fullmatch(r"\w+", name) or re.fullmatch(r"\d+", name):
        return None
    return name.casefold()


def parse(text):
    """The distinct tags of a post, sorted (the order tag rows are locked in)."""
    tags = {normalize(match) for match in _TAG.findall(text)}
    tags.discard(None)
    return sorted(tags)
