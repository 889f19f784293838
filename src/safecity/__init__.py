"""safecity: an open Safe City platform."""

__version__ = "0.1.0"
