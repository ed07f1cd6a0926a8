"""The catalog: a DuckDB file holding every measurement with its provenance. Owns all SQL."""
