"""Shared infrastructure: settings, errors, database, clock."""
