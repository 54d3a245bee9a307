"""The editor's desk (``newsletter desk``): see :mod:`.app`."""

from .app import create_desk, register

__all__ = ["create_desk", "register"]
