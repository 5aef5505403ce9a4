"""aibridge: command-line analytics for AI Bridge data in PostgreSQL."""

__version__ = "0.1.0"
