"""Mentions: the @usernames of a post's text.

A mention is `@` and a username (3 to 30 of A-Z a-z 0-9 _, as sign-up allows), not
glued to a word before it (so `ana@example.com` mentions nobody) nor followed by more
username characters or another `@` (`@ana@example.org` is an address elsewhere).
Usernames compare case-insensitively; which of them exist is the database's question
(posts.set_mentions keeps only existing users).
"""

import re

MENTION = re.compile(r"(?<![\w@.+\-])@([A-Za-z0-9_]{3,30})(?![\w@])")


def parse(text):
    """The usernames a text mentions, lower-cased, each once, in order of first appearance."""
    return list(dict.fromkeys(name.lower() for name in MENTION.findall(text)))
