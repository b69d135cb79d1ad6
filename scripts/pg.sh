#!/usr/bin/env bash
# A private, throw-away PostgreSQL cluster for Haven's tests.
#
#   scripts/pg.sh start    init (first time) and start it; nothing to do if it already runs
#   scripts/pg.sh stop     stop it (the data is kept; `make clean` removes it)
#   scripts/pg.sh status   exit 0 if it runs
#   scripts/pg.sh url      print the SQLAlchemy URL of the test database
#
# Cluster: $REPO/.pg/data, or /tmp/haven-pg-<hash>/data when the postgres user cannot reach the repo.
# Superuser `haven`, trust authentication, 127.0.0.1:$HAVEN_PG_PORT (default 54329) and a unix socket
# beside the data dir; database `haven_test`. Durability is off (fsync=off): it is a test server.
# PostgreSQL refuses to run as root: as root the server runs as the `postgres` system user.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PORT="${HAVEN_PG_PORT:-54329}"
DB=haven_test
USER_NAME=haven

say() { printf 'pg: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

find_bindir() {
    local d best="" best_v=0 v
    for d in /usr/lib/postgresql/*/bin; do
        [[ -x "$d/initdb" && -x "$d/pg_ctl" ]] || continue
        v="$(basename "$(dirname "$d")")"
        v="${v%%.*}"
        if [[ "$v" =~ ^[0-9]+$ ]] && ((v > best_v)); then best="$d" best_v="$v"; fi
    done
    if [[ -z "$best" ]] && command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
        best="$(dirname "$(command -v pg_ctl)")"
    fi
    [[ -n "$best" ]] || die "no PostgreSQL server binaries (initdb, pg_ctl) found: apt-get install postgresql"
    echo "$best"
}

IS_ROOT=0
[[ $(id -u) -eq 0 ]] && IS_ROOT=1

# Run a command as the server's owner. cd / first: postgres cannot read root's working directory,
# and initdb/pg_ctl fail when they cannot resolve the current directory. Every descriptor above 2 is
# closed: the server would otherwise inherit them for as long as it runs (the start lock, or a pipe a
# caller waits on for end-of-file).
as_owner() {
    (
        local fd
        for fd in /proc/$BASHPID/fd/*; do
            fd="${fd##*/}"
            if ((fd > 2)); then eval "exec $fd>&-"; fi
        done
        cd /
        if ((IS_ROOT)); then
            exec runuser -u postgres -- "$@"
        else
            exec "$@"
        fi
    )
}

hash_of_repo() { printf '%s' "$REPO" | sha1sum | cut -c1-12; }

# Where the cluster lives. Decided the same way every time, so stop/status find what start made.
choose_root() {
    local inrepo="$REPO/.pg" fallback
    fallback="/tmp/haven-pg-$(hash_of_repo)"
    if ((IS_ROOT)); then
        id postgres >/dev/null 2>&1 || die "no 'postgres' system user (it comes with Debian's postgresql package)"
        if [[ -d "$fallback" && ! -d "$inrepo" ]]; then echo "$fallback"; return; fi
        mkdir -p "$inrepo"
        chown postgres: "$inrepo"
        if runuser -u postgres -- test -w "$inrepo" -a -x "$inrepo"; then
            echo "$inrepo"
        else
            rmdir "$inrepo" 2>/dev/null || true
            mkdir -p "$fallback"
            chown postgres: "$fallback"
            chmod 700 "$fallback"
            echo "$fallback"
        fi
    else
        mkdir -p "$inrepo"
        echo "$inrepo"
    fi
}

existing_roots() {
    local r
    for r in "$REPO/.pg" "/tmp/haven-pg-$(hash_of_repo)"; do
        [[ -f "$r/data/PG_VERSION" ]] && echo "$r"
    done
    return 0
}

is_running() { # root
    local bindir="$1" root="$2"
    [[ -f "$root/data/PG_VERSION" ]] || return 1
    as_owner "$bindir/pg_ctl" status -D "$root/data" >/dev/null 2>&1
}

ready() {
    "$BINDIR/pg_isready" -q -h 127.0.0.1 -p "$PORT" -U "$USER_NAME" -d postgres -t 2
}

cmd_start() {
    BINDIR="$(find_bindir)"
    local root data major sockdir
    root="$(choose_root)"
    data="$root/data"
    major="$("$BINDIR/pg_ctl" --version | awk '{print $3}' | cut -d. -f1)"

    exec 9>"$root/.lock"
    flock 9

    if is_running "$BINDIR" "$root"; then
        # postmaster.pid, line 4: the port this server listens on.
        if [[ "$(sed -n 4p "$data/postmaster.pid" 2>/dev/null)" == "$PORT" ]] && ready; then
            ensure_db
            return 0
        fi
        say "running on another port: restarting on $PORT"
        as_owner "$BINDIR/pg_ctl" stop -D "$data" -m fast -w >/dev/null
    fi

    # A cluster of another major version (or a half-made one) is thrown away: it only ever holds tests.
    if [[ -d "$data" && "$(cat "$data/PG_VERSION" 2>/dev/null || true)" != "$major" ]]; then
        say "re-creating the test cluster (PostgreSQL $major)"
        rm -rf "$data"
    fi
    if ready; then
        # Another checkout's test cluster serves the same database: fine for tests (each makes its own).
        if "$BINDIR/psql" -h 127.0.0.1 -p "$PORT" -U "$USER_NAME" -d "$DB" -XtAq -c 'SELECT 1' >/dev/null 2>&1; then
            say "127.0.0.1:$PORT already serves $DB (another checkout's cluster?): using it"
            return 0
        fi
        die "port $PORT on 127.0.0.1 is used by another server; set HAVEN_PG_PORT to a free port"
    fi

    # unix sockets are limited to ~107 bytes of path.
    sockdir="$root"
    if (( ${#sockdir} > 80 )); then
        sockdir="/tmp/haven-pg-sock-$(hash_of_repo)"
        mkdir -p "$sockdir"
        ((IS_ROOT)) && chown postgres: "$sockdir"
    fi

    if [[ ! -f "$data/PG_VERSION" ]]; then
        say "initdb $data"
        mkdir -p "$data"
        chmod 700 "$data"
        ((IS_ROOT)) && chown postgres: "$data"
        if ! as_owner "$BINDIR/initdb" -D "$data" -A trust -U "$USER_NAME" -E UTF8 --locale=C.UTF-8 \
            >"$root/initdb.log" 2>&1; then
            cat "$root/initdb.log" >&2
            rm -rf "$data"
            die "initdb failed"
        fi
        cat >>"$data/postgresql.conf" <<EOF

# Haven test cluster (scripts/pg.sh)
listen_addresses = '127.0.0.1'
unix_socket_directories = '$sockdir'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 128MB
logging_collector = off
log_checkpoints = off
EOF
    fi
    if ! as_owner "$BINDIR/pg_ctl" start -D "$data" -l "$root/server.log" -w -t 60 -o "-p $PORT" >/dev/null 2>&1; then
        tail -n 30 "$root/server.log" >&2 || true
        die "the server did not start (log: $root/server.log)"
    fi
    local i
    for i in $(seq 1 60); do
        ready && break
        sleep 0.5
    done
    ready || die "the server started but does not answer on 127.0.0.1:$PORT"
    ensure_db
    say "running on 127.0.0.1:$PORT ($data)"
}

ensure_db() {
    local exists
    exists="$("$BINDIR/psql" -h 127.0.0.1 -p "$PORT" -U "$USER_NAME" -d postgres -XtAq \
        -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")"
    if [[ "$exists" != 1 ]]; then
        "$BINDIR/createdb" -h 127.0.0.1 -p "$PORT" -U "$USER_NAME" "$DB"
    fi
}

cmd_stop() {
    local bindir root
    bindir="$(find_bindir)"
    while read -r root; do
        [[ -n "$root" ]] || continue
        if is_running "$bindir" "$root"; then
            as_owner "$bindir/pg_ctl" stop -D "$root/data" -m fast -w >/dev/null
            say "stopped ($root/data)"
        fi
    done < <(existing_roots)
}

cmd_status() {
    local bindir root
    bindir="$(find_bindir)"
    while read -r root; do
        [[ -n "$root" ]] || continue
        if is_running "$bindir" "$root"; then
            echo "running: $root/data on 127.0.0.1:$PORT"
            return 0
        fi
    done < <(existing_roots)
    echo "not running"
    return 1
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    url) echo "postgresql+psycopg://$USER_NAME@127.0.0.1:$PORT/$DB" ;;
    *) echo "usage: $0 start|stop|status|url" >&2; exit 2 ;;
esac
