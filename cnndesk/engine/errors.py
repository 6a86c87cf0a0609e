"""The one exception type the engine raises for problems a user can fix."""


class CnndeskError(Exception):
    """Bad input, a missing file, an incompatible checkpoint: one clear sentence for the user."""
