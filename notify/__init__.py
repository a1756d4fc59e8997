"""Templates to outbox, delivery, and the deadline policy."""
