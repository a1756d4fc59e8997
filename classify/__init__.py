"""The Swedish classifier: what a triage decides about one message."""
