"""The engine's error type; it lives in cnndesk.errors so that the CLI can catch it without importing PyTorch."""

from cnndesk.errors import CnndeskError

__all__ = ["CnndeskError"]
