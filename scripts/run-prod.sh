#!/usr/bin/env bash
# `make run-prod`: the scale-out configuration on this machine.
#   PostgreSQL 127.0.0.1:5432, database `naviyam` (created if missing) — the one source of truth
#   Redis 127.0.0.1:6379 — rate-limit counters shared by the workers
#   `naviyam setup` (migrate, sample world if empty, missing models), then `naviyam serve --workers N`
# Every NAVIYAM_* variable set by the caller wins (e.g. NAVIYAM_SAMPLE_SHOPS for a smaller world).
# SETUP_ONLY=1 prepares the database and models and exits.
set -euo pipefail

WORKERS="${WORKERS:-2}"
PG_HOST="${PG_HOST:-127.0.0.1}"
PG_PORT="${PG_PORT:-5432}"
PG_DB="${PG_DB:-naviyam}"
BIN="${BIN:-.venv/bin}"

psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$PG_DB'" \
  | grep -q 1 || psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -c "CREATE DATABASE \"$PG_DB\""

export NAVIYAM_DATABASE_URL="${NAVIYAM_DATABASE_URL:-postgresql+psycopg://postgres@$PG_HOST:$PG_PORT/$PG_DB?connect_timeout=3}"
export NAVIYAM_REDIS_URL="${NAVIYAM_REDIS_URL:-redis://127.0.0.1:6379/0}"
# Models and exports of this database live apart from `make run`'s SQLite world.
export NAVIYAM_VAR_DIR="${NAVIYAM_VAR_DIR:-var/prod}"
mkdir -p "$NAVIYAM_VAR_DIR"

if [ -z "${NAVIYAM_ADMIN_API_KEY:-}" ]; then
  # A real secret, made once and kept next to the models (production refuses the default key).
  key_file="$NAVIYAM_VAR_DIR/admin-api-key"
  [ -s "$key_file" ] || (umask 077 && "$BIN/python" -c "import secrets; print(secrets.token_urlsafe(32))" > "$key_file")
  NAVIYAM_ADMIN_API_KEY="$(cat "$key_file")"
  export NAVIYAM_ADMIN_API_KEY
  echo "admin API key: $key_file" >&2
fi
export NAVIYAM_ENVIRONMENT="${NAVIYAM_ENVIRONMENT:-production}"

"$BIN/naviyam" setup
[ "${SETUP_ONLY:-0}" = "1" ] && exit 0
exec "$BIN/naviyam" serve --workers "$WORKERS"
