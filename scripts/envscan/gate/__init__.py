"""Leak gate (transitional: being split into modules)."""

from ._legacy import Finding, Gate, Restricted, normalise_words

__all__ = ["Restricted", "Finding", "Gate", "normalise_words"]
