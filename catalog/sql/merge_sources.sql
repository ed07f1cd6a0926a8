-- Every source of a catalog being merged (or of this one, to compare), oldest first.
SELECT source_id, kind, name, uri, sha256, tool, tool_version, citation, host, imported_at,
       details
FROM sources
ORDER BY source_id
