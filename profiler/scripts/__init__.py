"""Scripts run by other Python environments (the tools'), not imported by the package."""
