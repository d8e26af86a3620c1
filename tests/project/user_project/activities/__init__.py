"""The service's activities: a plain Temporal one and its durable tasks (a simple processor, steps)."""
