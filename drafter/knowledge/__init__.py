"""The manuals: the corpus store, ingest, and cleaning of scraped pages."""
