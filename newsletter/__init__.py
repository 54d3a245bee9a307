"""newsletter: turn a long article into a multi-part email series and send it."""

__version__ = "0.1.0"
