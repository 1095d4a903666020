"""Registry versions and change propagation: the outbox, and its readers."""
