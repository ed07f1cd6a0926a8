"""The catalog's SQL statements, one file each, loaded by name."""
