"""Numbered, forward-only SQL migrations of the catalog schema."""
