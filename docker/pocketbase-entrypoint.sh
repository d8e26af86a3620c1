#!/bin/sh
# Start PocketBase for production: make sure the superuser the worker writes with exists (created,
# or its password reset, from the environment), then serve with the schema from the read-only
# pb_migrations (applied at start), the hooks from pb_hooks, the task board from pb_public, and
# auto-migrations off so nothing is ever written next to the mounted migrations. Extra arguments
# go to `pocketbase serve`.
set -eu

: "${POCKETBASE_ADMIN_EMAIL:?set POCKETBASE_ADMIN_EMAIL (the superuser the worker writes with)}"
: "${POCKETBASE_ADMIN_PASSWORD:?set POCKETBASE_ADMIN_PASSWORD (at least 8 characters)}"

dirs="--dir=/pb/pb_data --migrationsDir=/pb/pb_migrations --hooksDir=/pb/pb_hooks --publicDir=/pb/pb_public --automigrate=false"

# `--` ends the flags: a password starting with "-" must not be read as one.
# shellcheck disable=SC2086 # $dirs is a list of flags without spaces inside them
pocketbase superuser upsert $dirs -- "$POCKETBASE_ADMIN_EMAIL" "$POCKETBASE_ADMIN_PASSWORD"

# shellcheck disable=SC2086
exec pocketbase serve --http=0.0.0.0:8090 --hooksWatch=false --indexFallback=false $dirs "$@"
