"""One falcon resource per endpoint."""
