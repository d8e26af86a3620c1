# The durable-tasks worker image (docker-compose.yml's `worker` service; scale it with
# `docker compose up -d --scale worker=N`). Configuration comes only from the environment: see
# .env.example and durable_tasks/settings.py.
FROM python:3.11.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A fixed, unprivileged user: the worker needs no root, and fixed ids keep mounted files predictable.
RUN groupadd --system --gid 10001 durable \
    && useradd --system --uid 10001 --gid durable --create-home --home-dir /home/durable durable

WORKDIR /src
COPY pyproject.toml README.md LICENSE MANIFEST.in CHANGELOG.md ./
COPY durable_tasks ./durable_tasks
# A regular (not editable) install: the image keeps the installed package, not the sources.
RUN pip install . \
    && cd / && rm -rf /src

COPY docker/worker_healthcheck.py /usr/local/lib/durable-tasks/healthcheck.py

# The processors this deployment runs: the repository's examples, which the package does not
# ship. They are imported by name (DURABLE_TASKS_IMPORTS, set in docker-compose.yml) from the
# worker's working directory; an image of your own copies your own packages here instead.
WORKDIR /app
COPY workflows /app/workflows
COPY activities /app/activities

USER durable

# Exec form, so SIGTERM reaches the worker itself and it can shut down gracefully.
CMD ["durable-tasks", "worker"]
