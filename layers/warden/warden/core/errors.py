"""Errors that retrying cannot fix: the event goes straight to the function's dead-letter queue."""


class PermanentError(Exception):
    """Raised by domain code when the input or a third party's answer makes success impossible."""
