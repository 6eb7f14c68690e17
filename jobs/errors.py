"""Errors of the jobs layer that several modules raise (the CLI prints them as one line, exit code 2)."""

from __future__ import annotations


class WorkdirError(ValueError):
    """The workdir cannot be used: remote scheme not supported, not writable, missing, incomplete or damaged
    outputs; the message says what to run."""
