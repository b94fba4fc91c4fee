"""hipbot: answers hip-pain questions from a store's own articles, quoting the passages it relies on."""

__version__ = "0.1.0"
