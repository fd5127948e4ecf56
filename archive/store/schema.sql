-- revision: 0006
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
CREATE TABLE capture_requisites (
	id INTEGER NOT NULL, 
	capture_id VARCHAR(64) NOT NULL, 
	position INTEGER NOT NULL, 
	url TEXT NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	found_in TEXT, 
	final_url TEXT, 
	final_url_hash VARCHAR(64), 
	status INTEGER, 
	content_type VARCHAR(255), 
	error_class VARCHAR(32), 
	error_message TEXT, 
	hops JSON NOT NULL, 
	warc_record_id VARCHAR(64), 
	warc_date VARCHAR(40), 
	payload_digest VARCHAR(80), 
	is_revisit BOOLEAN NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(capture_id) REFERENCES captures (capture_id)
);
CREATE TABLE captures (
	capture_id VARCHAR(64) NOT NULL, 
	resource_id VARCHAR(64) NOT NULL, 
	job_id INTEGER, 
	requested_url TEXT NOT NULL, 
	final_url TEXT, 
	redirect_chain JSON NOT NULL, 
	fetched_at DATETIME NOT NULL, 
	http_status INTEGER, 
	content_type VARCHAR(255), 
	payload_length BIGINT, 
	payload_digest VARCHAR(80), 
	truncated BOOLEAN NOT NULL, 
	is_revisit BOOLEAN NOT NULL, 
	revisit_of VARCHAR(64), 
	warc_record_id VARCHAR(64), 
	warc_date VARCHAR(40), 
	warc_file VARCHAR(255), 
	warc_offset BIGINT, 
	warc_length BIGINT, 
	error_class VARCHAR(32), 
	error_message TEXT, 
	duration_ms INTEGER, 
	page_title TEXT, 
	author TEXT, 
	published_date VARCHAR(32), 
	language VARCHAR(16), 
	description TEXT, 
	canonical_url TEXT, 
	full_text TEXT, 
	full_text_preview TEXT, 
	content_length INTEGER, 
	content_hash VARCHAR(80), 
	fetch_method VARCHAR(32), 
	extractor VARCHAR(64), 
	text_changed BOOLEAN, 
	change_size INTEGER, requisites_cut VARCHAR(16), requisites_left_out INTEGER, 
	PRIMARY KEY (capture_id), 
	FOREIGN KEY(job_id) REFERENCES jobs (id), 
	FOREIGN KEY(resource_id) REFERENCES resources (resource_id)
);
CREATE VIRTUAL TABLE captures_fts USING fts5(title, url, body, content='', tokenize='unicode61 remove_diacritics 2');
CREATE TABLE jobs (
	id INTEGER NOT NULL, 
	started_at DATETIME NOT NULL, 
	finished_at DATETIME, 
	status VARCHAR(16) NOT NULL, 
	host VARCHAR(255), 
	pid INTEGER, 
	counts JSON NOT NULL, 
	settings JSON NOT NULL, 
	message TEXT, 
	PRIMARY KEY (id)
);
CREATE TABLE link_events (
	id INTEGER NOT NULL, 
	resource_id VARCHAR(64) NOT NULL, 
	at DATETIME NOT NULL, 
	from_state VARCHAR(16) NOT NULL, 
	to_state VARCHAR(16) NOT NULL, 
	capture_id VARCHAR(64), 
	reason TEXT, 
	PRIMARY KEY (id), 
	FOREIGN KEY(resource_id) REFERENCES resources (resource_id)
);
CREATE TABLE prior_checks (
	id INTEGER NOT NULL, 
	resource_id VARCHAR(64) NOT NULL, 
	page_id VARCHAR(255) NOT NULL, 
	footnote INTEGER, 
	url TEXT, 
	link_text TEXT, 
	claim_context TEXT, 
	checked_at DATETIME, 
	http_status INTEGER, 
	status VARCHAR(32), 
	page_title TEXT, 
	content_snippet TEXT, 
	content_length BIGINT, 
	note TEXT, 
	verified_at VARCHAR(40), 
	source TEXT, 
	imported_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(resource_id) REFERENCES resources (resource_id)
);
CREATE TABLE resources (
	resource_id VARCHAR(64) NOT NULL, 
	number BIGINT NOT NULL, 
	stable_id VARCHAR(80) NOT NULL, 
	stable_id_source VARCHAR(16) NOT NULL, 
	url TEXT NOT NULL, 
	url_key TEXT NOT NULL, 
	host VARCHAR(255) NOT NULL, 
	title TEXT, 
	type VARCHAR(32), 
	tags JSON NOT NULL, 
	cited_by JSON NOT NULL, 
	meta JSON NOT NULL, 
	link_state VARCHAR(16) NOT NULL, 
	state_since DATETIME, 
	consecutive_failures INTEGER NOT NULL, 
	failure_kind VARCHAR(16), 
	last_failure_at DATETIME, 
	first_seen_at DATETIME NOT NULL, 
	last_seen_at DATETIME NOT NULL, 
	last_checked_at DATETIME, 
	last_ok_capture_id VARCHAR(64), 
	refresh_seconds INTEGER, 
	next_due_at DATETIME, 
	PRIMARY KEY (resource_id), 
	UNIQUE (number), 
	UNIQUE (stable_id)
);
CREATE TABLE wiki_pushes (
	server VARCHAR(255) NOT NULL, 
	url_hash VARCHAR(64) NOT NULL, 
	url TEXT NOT NULL, 
	resource_id VARCHAR(64) NOT NULL, 
	capture_id VARCHAR(64) NOT NULL, 
	row_hash VARCHAR(64) NOT NULL, 
	content_hash VARCHAR(64), 
	pushed_at DATETIME NOT NULL, 
	PRIMARY KEY (server, url_hash)
);
CREATE INDEX ix_capture_requisites_capture_id ON capture_requisites (capture_id);
CREATE INDEX ix_capture_requisites_final_url_hash ON capture_requisites (final_url_hash);
CREATE INDEX ix_captures_payload_digest ON captures (payload_digest);
CREATE INDEX ix_captures_resource_id ON captures (resource_id);
CREATE INDEX ix_captures_resource_time ON captures (resource_id, fetched_at);
CREATE INDEX ix_captures_warc_record_id ON captures (warc_record_id);
CREATE INDEX ix_link_events_resource_id ON link_events (resource_id);
CREATE INDEX ix_prior_checks_resource_id ON prior_checks (resource_id);
CREATE INDEX ix_resources_host ON resources (host);
CREATE INDEX ix_resources_link_state ON resources (link_state);
CREATE INDEX ix_resources_next_due_at ON resources (next_due_at);
CREATE INDEX ix_resources_type ON resources (type);
CREATE INDEX ix_resources_url_key ON resources (url_key);
CREATE TRIGGER captures_fts_delete AFTER DELETE ON captures BEGIN INSERT INTO captures_fts (captures_fts, rowid, title, url, body) SELECT 'delete', old.rowid, archive_search_text(old.page_title, 2000), archive_search_text(old.requested_url || ' ' || coalesce(old.final_url, ''), 2000), archive_search_text(old.full_text, 0) WHERE old.full_text IS NOT NULL; END;
CREATE TRIGGER captures_fts_insert AFTER INSERT ON captures BEGIN INSERT INTO captures_fts (rowid, title, url, body) SELECT new.rowid, archive_search_text(new.page_title, 2000), archive_search_text(new.requested_url || ' ' || coalesce(new.final_url, ''), 2000), archive_search_text(new.full_text, 0) WHERE new.full_text IS NOT NULL; END;
CREATE TRIGGER captures_fts_update AFTER UPDATE OF page_title, requested_url, final_url, full_text ON captures BEGIN INSERT INTO captures_fts (captures_fts, rowid, title, url, body) SELECT 'delete', old.rowid, archive_search_text(old.page_title, 2000), archive_search_text(old.requested_url || ' ' || coalesce(old.final_url, ''), 2000), archive_search_text(old.full_text, 0) WHERE old.full_text IS NOT NULL; INSERT INTO captures_fts (rowid, title, url, body) SELECT new.rowid, archive_search_text(new.page_title, 2000), archive_search_text(new.requested_url || ' ' || coalesce(new.final_url, ''), 2000), archive_search_text(new.full_text, 0) WHERE new.full_text IS NOT NULL; END;
