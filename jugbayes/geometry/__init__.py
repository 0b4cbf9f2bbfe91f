"""Observatory and solar-system geometry."""
