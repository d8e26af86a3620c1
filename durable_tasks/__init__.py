"""durable-tasks: BullMQ-style task processors on Temporal, with task state in PocketBase."""
