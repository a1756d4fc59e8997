"""Routing: a triaged message to the enhet that owns the matter, explained."""
