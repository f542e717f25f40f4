"""Placeholder: the CLI-to-dashboard handover is added next."""

from __future__ import annotations

LOCKED_MESSAGE = {"he": "מסד הנתונים תפוס.", "en": "The database is busy."}
HANDOVER_MESSAGE = LOCKED_MESSAGE


class InboxError(Exception):
    """Handover failed."""

    message_he = LOCKED_MESSAGE["he"]
    message_en = LOCKED_MESSAGE["en"]


def submit(*args, **kwargs):  # noqa: ANN201
    """Not yet available."""
    raise InboxError
