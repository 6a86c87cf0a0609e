"""The one exception type cnndesk raises for problems a user can fix (importable without PyTorch or Qt)."""


class CnndeskError(Exception):
    """Bad input, a missing file, an incompatible checkpoint: one clear sentence for the user."""
