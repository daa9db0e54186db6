"""searchsvc: full-text search for news articles.

The data's journey, one module (or package) per stage: source files → ``articles`` →
``analysis`` → ``index`` → ``search`` → ``web``, with ``cli`` beside ``web``.
"""

__version__ = "0.1.0"
