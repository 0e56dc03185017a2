# bench/run --scale (issue 6, item 5), sourced by bench/run once OneAuth runs
# with its clients and users: client_credentials and verify throughput with
# each level of live tokens in the database, the query plans of the hot
# queries, then a soak of mixed load and logins with RSS sampled.
#
# Seeding: the mint_tokens example mints access tokens with the server's own
# code under the bench's system secret (token tag, time-ordered lookup key), and
# sqlite3 inserts them in one transaction, shaped like a token the
# client_credentials grant just wrote (a model row; only hash, grant id and
# times differ), while the server is stopped. The verify loads present a
# random sample of the seeded tokens and count any answer that is not
# "active":true, so the rows are real tokens to the server.

DB="$WORK/data/oneauth.db"
LEVELS="${BENCH_SCALE_LEVELS:-10000,1000000}"
SOAK_SECS="${BENCH_SOAK_SECONDS:-300}"
RSS_EVERY="${BENCH_RSS_EVERY:-5}"
SEEDED="$WORK/seeded.tsv"
VERIFY_SAMPLE=20000

label() { awk -v n="$1" 'BEGIN{ if (n >= 1e6 && n % 1e6 == 0) printf "%dM", n / 1e6; else if (n >= 1e3 && n % 1e3 == 0) printf "%dk", n / 1e3; else print n }'; }

live_tokens() {
  sqlite3 "$DB" "SELECT count(*) FROM tokens WHERE kind = 'access' AND revoked_at IS NULL
                 AND expires_at > CAST(strftime('%s', 'now') AS INTEGER)"
}

# seed_tokens N: N more live access tokens of bench-service
seed_tokens() {
  local n=$1 tsv="$WORK/seed.tsv" t0
  t0=$(now_ns)
  "$MINT_BIN" "$SYSTEM_SECRET" ory_at_ "$n" > "$tsv"
  # Every token gets its own grant id, as every client_credentials answer
  # does, time-ordered like the server's v7 UUIDs (built from the key's
  # leading 12 hex digits, the mint time in milliseconds, as in a v7 UUID).
  # Expiry a day out: outlives the run.
  sqlite3 "$DB" <<SQL
PRAGMA cache_size = -262144;
CREATE TEMP TABLE seed (token TEXT NOT NULL, hash TEXT NOT NULL);
.mode tabs
.import $tsv seed
BEGIN;
INSERT INTO tokens (hash, kind, grant_id, client_id, subject, scope, session_id, issued_at, expires_at)
  SELECT s.hash, m.kind,
         lower(printf('%s-%s-7%s-8%s-%s', substr(s.hash, 1, 8), substr(s.hash, 9, 4),
                      substr(hex(randomblob(2)), 1, 3), substr(hex(randomblob(2)), 1, 3), hex(randomblob(6)))),
         m.client_id, m.subject, m.scope, m.session_id,
         CAST(strftime('%s', 'now') AS INTEGER), CAST(strftime('%s', 'now') AS INTEGER) + 86400
  FROM seed AS s,
       (SELECT * FROM tokens WHERE kind = 'access' AND client_id = 'bench-service' LIMIT 1) AS m
  ORDER BY s.hash;
COMMIT;
SQL
  cat "$tsv" >> "$SEEDED"
  rm -f "$tsv"
  echo "seeded $n tokens in $(( ($(now_ns) - t0) / 1000000 )) ms"
}

# The hot queries of the token and verify paths and of cleanup, as
# crates/oneauth-store/src/sqlite.rs issues them (keep in step with it).
explain_plans() {
  local out=$1
  {
    echo "-- sqlite3 $(sqlite3 --version | cut -d' ' -f1), $(live_tokens) live access tokens"
    while IFS= read -r q; do
      [[ -z $q ]] && continue
      echo "$q"
      sqlite3 "$DB" "EXPLAIN QUERY PLAN $q" | sed 's/^/    /'
    done <<'QUERIES'
SELECT * FROM clients WHERE id = 'bench-service'
INSERT INTO rate_limits (key, window_start, hits, expires_at) VALUES ('k', 0, 1, 60) ON CONFLICT (key) DO UPDATE SET hits = CASE WHEN rate_limits.window_start = excluded.window_start THEN rate_limits.hits + 1 ELSE 1 END, window_start = excluded.window_start, expires_at = excluded.expires_at RETURNING hits
SELECT * FROM tokens WHERE hash = 'h' AND kind = 'access' AND revoked_at IS NULL AND expires_at > 0
SELECT * FROM identities WHERE id = 'i'
SELECT grant_id, used_at, successor, revoked_at, expires_at FROM tokens WHERE hash = 'h' AND kind = 'refresh'
UPDATE tokens SET revoked_at = 0 WHERE hash = 'h' AND revoked_at IS NULL
UPDATE tokens SET revoked_at = 0 WHERE grant_id = 'g' AND revoked_at IS NULL
UPDATE tokens SET revoked_at = 0 WHERE subject = 's' AND revoked_at IS NULL
DELETE FROM tokens WHERE rowid IN (SELECT rowid FROM tokens WHERE expires_at < 0 LIMIT 1000)
UPDATE tokens SET successor = NULL WHERE successor IS NOT NULL AND used_at < 0
QUERIES
  } > "$out"
  cat "$out"
  # A scan of a table that grows with use is a cliff.
  if grep -qE 'SCAN (tokens|authorization_codes|sessions|flows|rate_limits)\b' "$out"; then
    echo "NOTE: a query above scans a table that grows with use" >&2
  fi
}

run_scale() {
  # One token as the grant writes it: the model row for the seeded ones.
  curl -sf -o /dev/null -u "bench-service:$CLIENT_SECRET" -d grant_type=client_credentials \
    "$PUBLIC/oauth2/token" || die "client_credentials failed"
  stop_oneauth
  local level lbl live
  IFS=, read -r -a levels <<< "$LEVELS"
  for level in "${levels[@]}"; do
    lbl=$(label "$level")
    step "Scale: $lbl live tokens"
    live=$(live_tokens)
    (( level > live )) && seed_tokens $((level - live))
    live=$(live_tokens)
    printf '{"level":%s,"live_tokens":%s,"db_bytes":%s}\n' "$level" "$live" \
      "$(du -sb "$WORK/data" | cut -f1)" > "$RES/oneauth.level_$lbl.json"
    start_oneauth
    shuf -n "$VERIFY_SAMPLE" "$SEEDED" | cut -f1 > "$WORK/verify.tokens"
    curl -sf -H 'Content-Type: application/json' \
      -d "{\"token\":\"$(head -1 "$WORK/verify.tokens")\"}" "$PUBLIC/oauth/token/verify" \
      | grep -q '"active":true' || die "a seeded token does not verify"
    BENCH_BODY="grant_type=client_credentials" BENCH_AUTH="$BASIC" \
      wrk_case oneauth "client_credentials_$lbl" "$ONEAUTH_PID" "$PUBLIC/oauth2/token" post.lua
    BENCH_FILE="$WORK/verify.tokens" BENCH_BODY='{"token":"{VALUE}"}' BENCH_CT=application/json \
      BENCH_EXPECT='"active":true' \
      wrk_case oneauth "verify_$lbl" "$ONEAUTH_PID" "$PUBLIC/oauth/token/verify" cycle.lua
    stop_oneauth
  done

  step "Query plans of the hot queries"
  explain_plans "$RES/oneauth.plans.txt"

  step "Soak: ${SOAK_SECS}s of mixed load (discovery, JWKS, client_credentials, verify, introspection) and password logins"
  start_oneauth
  local soak_idle_rss=$IDLE_RSS t0 sampler logins
  t0=$(now_ns)
  while kill -0 "$ONEAUTH_PID" 2>/dev/null; do
    echo "$(( ($(now_ns) - t0) / 1000000 )) $(rss_kb "$ONEAUTH_PID")"
    sleep "$RSS_EVERY"
  done > "$RES/oneauth.soak.rss" &
  sampler=$!
  PIDS+=("$sampler")
  node "$BENCH/lib/flows.mjs" logins --target oneauth --public "$PUBLIC" --ui "$UI" \
    --users "$USERS" --concurrency 2 --seconds "$SOAK_SECS" > "$RES/oneauth.soak_logins.flows.json" &
  logins=$!
  SECS=$SOAK_SECS BENCH_FILE="$WORK/verify.tokens" BENCH_AUTH="$BASIC" \
    wrk_case oneauth soak "$ONEAUTH_PID" "$PUBLIC" mixed.lua
  wait "$logins"
  sleep "$RSS_EVERY"
  kill "$sampler"
  printf '{"idle_rss_kb":%s,"final_rss_kb":%s,"peak_rss_kb":%s,"live_tokens":%s,"data_dir_bytes":%s}\n' \
    "$soak_idle_rss" "$(rss_kb "$ONEAUTH_PID")" "$(awk '/^VmHWM:/{print $2}' "/proc/$ONEAUTH_PID/status")" \
    "$(live_tokens)" "$(du -sb "$WORK/data" | cut -f1)" > "$RES/oneauth.soak_process.json"
  stop_oneauth

  step "Results"
  node "$BENCH/lib/report.mjs" scale "$RES" "${BENCH_RESULTS_DIR:-$BENCH/results}" \
    --levels "$LEVELS" --seconds "$SECS" --soak-seconds "$SOAK_SECS" --connections "$CONNS" \
    --threads "$THREADS" --binary "$BIN" \
    --commit "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD -- crates Cargo.toml Cargo.lock 2>/dev/null || echo -dirty)"
}
