"""tribute: learn a genre, learn a band, write new songs in its style — checked for originality."""

__version__ = "0.1.0"

__all__ = ["__version__"]
