"""Articles: source files in, clean :class:`Article` records out."""

from searchsvc.articles.model import Article, DateSource, IngestReport, Place

__all__ = ["Article", "DateSource", "IngestReport", "Place"]
