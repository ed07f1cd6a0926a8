INSERT INTO sources (kind, name, uri, sha256, tool, tool_version, citation, host, imported_at, details)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING source_id
