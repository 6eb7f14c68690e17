"""The one error base of training: every message says what to fix."""


class TrainError(ValueError):
    """A model cannot be trained as configured or requested."""
