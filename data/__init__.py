"""The study's tables, the model cards and the reference data, shipped as `catalog.seed_data`."""
