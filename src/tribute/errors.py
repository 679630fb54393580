"""The one exception type a user sees as a one-line error (the CLI prints it, no traceback)."""


class TributeError(Exception):
    """A user-facing problem: bad input, a missing file, an impossible request."""
