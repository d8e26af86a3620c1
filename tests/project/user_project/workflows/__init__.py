"""The service's workflows: a plain Temporal one and a durable flow."""
