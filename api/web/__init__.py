"""Static assets of the web page and the report (no asset comes from the internet)."""
