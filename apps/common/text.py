"""Text helpers shared by the Streamlit pages."""

from __future__ import annotations

import re

# Markdown's punctuation, and ":" so that data never turns into an icon or emoji shortcode.
MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~$:])")


def plain(text: object) -> str:
    """Data (names, notes, purposes) shown inside Markdown, with Markdown's punctuation escaped."""
    return MARKDOWN_PUNCTUATION.sub(r"\\\1", str(text))
