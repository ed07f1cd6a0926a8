"""The study's published tables and the reference data, shipped as `catalog.seed_data`."""
