"""Reports for people: summaries, tables and (later) plots."""
