"""cosim's version (a module of its own, so that reading it imports nothing else of cosim)."""

__version__ = "0.3.0"
