"""Parsers that turn real tool output files into catalog batches."""
