SELECT source_id FROM sources WHERE sha256 = ?
