"""tierscore's library: read, validate, measure, score and write, with no CLI concerns."""

__version__ = "0.1.0"
