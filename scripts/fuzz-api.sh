#!/usr/bin/env bash
# Fuzzes the JSON API (/api/v1) with schemathesis 4.x, once per role.
#
# Usage:
#   scripts/fuzz-api.sh [extra `schemathesis run` options...]
#
# For every role (anonymous, then company, charity, adviser, admin) it starts
# a fresh `aidmatch serve --demo` on a free loopback port with its own
# temporary data directory, logs in through POST /api/v1/auth/token, runs
# `schemathesis run` on the server's /api/v1/openapi.json with that bearer
# token, and stops the server. A fresh server per role keeps the runs
# independent: the admin run may disable accounts or reset passwords, and
# fuzzing /auth/token trips the per-address login throttle.
#
# The OpenAPI document is first repaired by scripts/fuzz-api/patch-spec.py
# (undeclared path parameters, query parameters declared `in: path`,
# duplicate operationIds), or schemathesis would skip most operations with
# parameters. Each repair is a defect of the document: they are listed in
# spec-defects.txt and make the script fail. FUZZ_PATCH_SPEC=0 fuzzes the
# document as served.
#
# Reports go to $FUZZ_OUT/<role>/ (default target/fuzz-api/<role>/):
#   failures.txt     every distinct failure: check, operation, message, a curl
#                    command that reproduces it, the response's status and body
#   output.txt       schemathesis' console output
#   report.json      counts: operations, test cases, failures, errors, seed
#   junit.xml        JUnit XML, one test case per operation (for CI)
#   events.ndjson    every event, every request and response
#   openapi.json     the document as served; openapi.patched.json as fuzzed;
#   spec-defects.txt what patch-spec.py repaired
#   server.log       the server's own log (look here for panics behind a 500)
# One summary line per role is printed at the end. The exit status is 1 if
# any role found a failure, schemathesis reported an error, or the document
# needed repairs; 2 if the script could not run at all; 0 otherwise.
#
# Environment (all optional):
#   AIDMATCH_BIN          server binary (default: target/release/aidmatch, built
#                         first with `cargo build --release`)
#   DATABASE_URL          postgres://... to fuzz on PostgreSQL instead of a fresh
#                         SQLite per role. Use a THROWAWAY database: it is shared by
#                         all roles and the fuzzer writes junk into it.
#   FUZZ_ROLES            roles to run (default "anonymous company charity adviser admin")
#   FUZZ_MAX_EXAMPLES     test cases per operation and phase (default 30)
#   FUZZ_CHECKS           default not_a_server_error,status_code_conformance,
#                         content_type_conformance,response_schema_conformance
#   FUZZ_PHASES           default examples,coverage,fuzzing,stateful
#   FUZZ_WORKERS          concurrent schemathesis workers (default 2)
#   FUZZ_SEED             random seed, for reproducible runs (default: random;
#                         the seed used is printed in the summary)
#   FUZZ_REQUEST_TIMEOUT  seconds per request (default 30)
#   FUZZ_PATCH_SPEC       0 to fuzz the OpenAPI document unrepaired (default 1)
#   FUZZ_OUT              report directory (default target/fuzz-api)
# Extra arguments go to `schemathesis run` as they are, e.g.
#   scripts/fuzz-api.sh --include-path-regex '^/api/v1/resources'
#
# Excluded operations:
#   POST /api/v1/auth/logout    ends every session of the account, so the rest
#                               of the run would only see 401s;
#   POST /api/v1/auth/password  a generated valid body would change the
#                               password and end the sessions the same way.
# Everything else is fuzzed, including writes; after each run the script
# checks that the role's token still works and warns if it does not.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
repo=$(pwd)

roles=${FUZZ_ROLES:-anonymous company charity adviser admin}
max_examples=${FUZZ_MAX_EXAMPLES:-30}
checks=${FUZZ_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance}
phases=${FUZZ_PHASES:-examples,coverage,fuzzing,stateful}
workers=${FUZZ_WORKERS:-2}
request_timeout=${FUZZ_REQUEST_TIMEOUT:-30}
out_root=${FUZZ_OUT:-target/fuzz-api}
case "$out_root" in /*) ;; *) out_root="$repo/$out_root" ;; esac

log() { printf '== %s\n' "$*" >&2; }

password_of() {
    case "$1" in
        admin) echo 'Admin#2026' ;;
        adviser) echo 'Adviser#2026' ;;
        charity) echo 'Charity#2026' ;;
        company) echo 'Company#2026' ;;
        *) return 1 ;;
    esac
}
for role in $roles; do
    [ "$role" = anonymous ] || password_of "$role" >/dev/null || {
        echo "unknown role '$role' (known: anonymous admin adviser charity company)" >&2
        exit 2
    }
done

# --- 1. schemathesis -------------------------------------------------------
if ! python3 -c 'import schemathesis' 2>/dev/null; then
    log "installing schemathesis"
    python3 -m pip install -q 'schemathesis>=4,<5' || {
        echo "could not install schemathesis (python3 -m pip install 'schemathesis>=4,<5')" >&2
        exit 2
    }
fi
st=(python3 -m schemathesis.cli)
if ! "${st[@]}" --version >/dev/null 2>&1; then
    if command -v schemathesis >/dev/null; then st=(schemathesis); else
        echo "schemathesis is installed but cannot be run" >&2
        exit 2
    fi
fi
st_version=$("${st[@]}" --version 2>/dev/null | awk '{print $NF}')
case "$st_version" in
    4.*) ;;
    *) echo "schemathesis 4.x is needed, found '$st_version' (python3 -m pip install -U 'schemathesis>=4,<5')" >&2
       exit 2 ;;
esac

# --- 2. the server binary --------------------------------------------------
bin=${AIDMATCH_BIN:-}
if [ -z "$bin" ]; then
    # Built from the current sources (a no-op when it is up to date), so the
    # fuzzer never tests a stale binary.
    log "cargo build --release --bin aidmatch"
    cargo build --release --locked --bin aidmatch >&2
    bin=target/release/aidmatch
fi
[ -x "$bin" ] || { echo "server binary '$bin' is missing or not executable" >&2; exit 2; }
case "$bin" in /*) ;; *) bin="$repo/$bin" ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aidmatch-fuzz.XXXXXX")
server_pid=
stop_server() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=
    fi
}
cleanup() {
    stop_server
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The same keys for every server, so that restarts on one PostgreSQL database
# agree with each other.
export AIDMATCH_DATA_KEY=${AIDMATCH_DATA_KEY:-$(python3 -c 'import secrets; print(secrets.token_hex(32))')}
export AIDMATCH_JWT_SECRET=${AIDMATCH_JWT_SECRET:-$(python3 -c 'import secrets; print(secrets.token_hex(32))')}

base=
# start_server ROLE: starts a server for ROLE and sets $base.
start_server() {
    local dir="$tmp/$1" log_file="$tmp/$1/server.log"
    mkdir -p "$dir/data"
    # No config file, no real mail: outgoing mail lands in <data dir>/outbox/.
    env AIDMATCH_CONFIG="$dir/none.toml" \
        AIDMATCH_DATA_DIR="$dir/data" \
        AIDMATCH_BIND=127.0.0.1:0 \
        AIDMATCH_INDEX_CONFIG_DIR="$repo/index" \
        SMTP_URL= \
        RUST_LOG="${RUST_LOG:-info}" \
        "$bin" serve --demo >"$log_file" 2>&1 &
    server_pid=$!
    local port=
    for _ in $(seq 1 600); do
        if ! kill -0 "$server_pid" 2>/dev/null; then
            echo "the server exited during start-up; its log:" >&2
            tail -n 40 "$log_file" >&2
            server_pid=
            return 1
        fi
        if [ -z "$port" ]; then
            port=$(sed -n 's|.*(listening): http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$log_file" | head -n1)
        fi
        if [ -n "$port" ] && curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null; then
            base="http://127.0.0.1:$port"
            return 0
        fi
        sleep 0.2
    done
    echo "the server did not answer /healthz within 120 s; its log:" >&2
    tail -n 40 "$log_file" >&2
    return 1
}

# token_for ROLE: prints a bearer token for the demo account ROLE.
token_for() {
    local body
    body=$(python3 -c 'import json,sys; print(json.dumps({"username": sys.argv[1], "password": sys.argv[2]}))' \
        "$1" "$(password_of "$1")")
    curl -fsS -X POST -H 'Content-Type: application/json' --data "$body" \
        "$base/api/v1/auth/token" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}

# failed REPORT_JSON EXIT_CODE: succeeds when the run found a failure or an error.
failed() {
    python3 - "$@" <<'PY'
import json, sys
path, code = sys.argv[1:3]
try:
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
except (OSError, ValueError):
    sys.exit(0)
sys.exit(0 if doc.get("failures") or doc.get("errors") or code != "0" else 1)
PY
}

mkdir -p "$out_root"
summary=()
status=0
for role in $roles; do
    out="$out_root/$role"
    rm -rf "$out"
    mkdir -p "$out"
    log "$role: starting the server"
    if ! start_server "$role"; then
        summary+=("$(printf '%-10s the server did not start' "$role")")
        status=1
        continue
    fi
    auth=()
    token=
    if [ "$role" != anonymous ]; then
        if ! token=$(token_for "$role"); then
            summary+=("$(printf '%-10s could not log in as %s' "$role" "$role")")
            status=1
            cp "$tmp/$role/server.log" "$out/server.log"
            stop_server
            continue
        fi
        auth=(-H "Authorization: Bearer $token")
    fi
    # The document as served, and the copy that is fuzzed (see patch-spec.py).
    if ! curl -fsS "$base/api/v1/openapi.json" -o "$out/openapi.json"; then
        summary+=("$(printf '%-10s GET /api/v1/openapi.json failed' "$role")")
        status=1
        stop_server
        cp "$tmp/$role/server.log" "$out/server.log"
        continue
    fi
    spec_defects=0
    spec="$out/openapi.json"
    if [ "${FUZZ_PATCH_SPEC:-1}" != 0 ]; then
        python3 "$here/fuzz-api/patch-spec.py" "$out/openapi.json" "$out/openapi.patched.json" >"$out/spec-defects.txt"
        spec_defects=$(wc -l <"$out/spec-defects.txt" | tr -d ' ')
        spec="$out/openapi.patched.json"
    fi
    seed_arg=()
    [ -n "${FUZZ_SEED:-}" ] && seed_arg=(--seed "$FUZZ_SEED")
    log "$role: schemathesis run on $base (max $max_examples examples per operation)"
    set +e
    "${st[@]}" run "$spec" \
        --url "$base" \
        "${auth[@]}" \
        --checks "$checks" \
        --phases "$phases" \
        --max-examples "$max_examples" \
        --workers "$workers" \
        --request-timeout "$request_timeout" \
        --exclude-path /api/v1/auth/logout \
        --exclude-path /api/v1/auth/password \
        --suppress-health-check all \
        --generation-database none \
        --continue-on-failure \
        --no-color \
        --report junit,json,ndjson \
        --report-dir "$out" \
        --report-junit-path "$out/junit.xml" \
        --report-json-path "$out/report.json" \
        --report-ndjson-path "$out/events.ndjson" \
        "${seed_arg[@]}" \
        "$@" >"$out/output.txt" 2>&1
    code=$?
    set -e
    if [ -n "$token" ]; then
        me=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$base/api/v1/auth/me" || true)
        if [ "$me" != 200 ]; then
            log "$role: warning: the token no longer works after the run (GET /auth/me answered $me):" \
                "the fuzzer ended its own session part-way and later requests only saw 401"
        fi
    fi
    stop_server
    cp "$tmp/$role/server.log" "$out/server.log"
    {
        echo "# Distinct failures of the $role run. Reproduce against a server started as in"
        echo "# scripts/fuzz-api.sh (the port below was that run's), with TOKEN from"
        echo "# POST /api/v1/auth/token as $role."
        echo
        if [ -s "$out/events.ndjson" ]; then
            python3 "$here/fuzz-api/digest.py" failures "$out/events.ndjson" "$base"
        else
            echo "no events recorded; see output.txt"
        fi
    } >"$out/failures.txt"
    line=$(python3 "$here/fuzz-api/digest.py" summary "$role" "$out/report.json" "$code" "$spec_defects")
    summary+=("$line")
    log "$line"
    if failed "$out/report.json" "$code" || [ "$spec_defects" != 0 ]; then status=1; fi
done

defects=$(ls "$out_root"/*/spec-defects.txt 2>/dev/null | head -n1 || true)
if [ -n "$defects" ] && [ -s "$defects" ]; then
    echo
    echo "The OpenAPI document has defects, patched before fuzzing (list: ${defects#"$repo/"}):"
    sed -E -e 's/^[A-Z]+ [^:]+: //' -e "s/'[^']*'/'…'/g" -e 's/parameter\(s\) .* not declared/parameter(s) not declared/' -e 's/used by [0-9]+ operations/used by several operations/' \
        "$defects" | sort | uniq -c | sed 's/^ */  /'
fi
echo
echo "schemathesis $st_version, $(basename "$bin"); reports in ${out_root#"$repo/"}/<role>/ (failures.txt: distinct failures with curl)"
printf '%s\n' "${summary[@]}"
exit "$status"
