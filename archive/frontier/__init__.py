"""Scale out: many crawl workers on one shared frontier (Redis) and one PostgreSQL store."""
