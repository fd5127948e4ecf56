"""Sending what the archive made to the systems that use it: ``archive push wiki`` feeds
the wiki's server its citation_content rows (docs/design.md §11)."""
