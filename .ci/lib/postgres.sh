# Sourced by .ci/run (and usable by hand): starts a throw-away PostgreSQL cluster on 127.0.0.1
# and exports PA_TEST_POSTGRES_URL (a superuser URL; tests create one database each).
# Needs Debian's `postgresql` package. Runs the server as the `postgres` user when root.
pa_pg_start() {
  local port="${PA_PG_PORT:-55432}"
  local bindir
  bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
  if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    echo "postgres.sh: no PostgreSQL server binaries (install Debian's postgresql)" >&2
    return 1
  fi
  PA_PG_DIR="$(mktemp -d /tmp/pa-pg.XXXXXX)"
  export PA_PG_DIR
  local run=()
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$PA_PG_DIR"
    run=(runuser -u postgres --)
  fi
  "${run[@]}" "$bindir/initdb" -D "$PA_PG_DIR/data" -U pa --auth=trust -E UTF8 --no-locale >/dev/null
  # TLS on the same server (plain connections stay allowed): a throw-away CA and a server
  # certificate for 127.0.0.1, so tests can check `sslmode=require` for real.
  local d="$PA_PG_DIR/data"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=pa-test-ca" \
    -keyout "$PA_PG_DIR/ca.key" -out "$PA_PG_DIR/ca.crt" >/dev/null 2>&1
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$d/server.key" -out "$PA_PG_DIR/server.csr" >/dev/null 2>&1
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > "$PA_PG_DIR/ext.cnf"
  openssl x509 -req -in "$PA_PG_DIR/server.csr" -CA "$PA_PG_DIR/ca.crt" -CAkey "$PA_PG_DIR/ca.key" \
    -CAcreateserial -days 2 -extfile "$PA_PG_DIR/ext.cnf" -out "$d/server.crt" >/dev/null 2>&1
  chmod 600 "$d/server.key"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$d/server.key" "$d/server.crt"; fi
  "${run[@]}" "$bindir/pg_ctl" -D "$PA_PG_DIR/data" -l "$PA_PG_DIR/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $PA_PG_DIR -c max_connections=300 -c ssl=on" start >/dev/null
  export PA_PG_BIN="$bindir"
  export PA_TEST_POSTGRES_CA="$PA_PG_DIR/ca.crt"
  export PA_TEST_POSTGRES_URL="postgres://pa@127.0.0.1:$port/postgres"
  echo "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port ($PA_PG_DIR)"
}

pa_pg_stop() {
  [ -n "${PA_PG_DIR:-}" ] || return 0
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$PA_PG_BIN/pg_ctl" -D "$PA_PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  else
    "$PA_PG_BIN/pg_ctl" -D "$PA_PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  fi
}
