#!/usr/bin/env bash
# Round trips at internet latency. Loopback hides them; between a forwarder and Denmark each costs 10-40 ms.
# A delaying proxy (examples/latency_proxy.rs) on 127.0.0.2 forwards the control port and the passive range
# to the server on 127.0.0.1, holding every byte back RTT/2 in each direction and each new connection one RTT.
#
# 1. vsftpd configured like the gateway: FILES uploads of 4 KiB in one session, and a session that uploads one
#    file (connect, TLS, login, upload, quit), for skat-gateway (examples/put_many: the raw session), curl
#    and lftp. Round trips per file = (time of FILES - time of 1) / (FILES - 1) / RTT; a one-file session's
#    round trips = its time / RTT.
# 2. The simulator behind the same kind of proxy: `skat-gateway submit` of SUBMIT_FILES declarations (the
#    path users take: names journaled, spool, every guarantee) on one session and on SESSIONS, and of one
#    declaration (a whole one-file submit: connect, login, upload, quit; the services listed by the submit before
#    it are remembered in the journal, as for a system sending each declaration in its own process); then `poll` of
#    the receipts on SESSIONS
#    (4 files per declaration: status 1, 2, 3 and the response), against lftp `mput` into the service folder
#    and `mget -E` (download, then delete) of the files in `out` (those of SUBMIT_FILES + 1 declarations).
#
# Usage: bench/latency.sh [RUNS (default 3)] [FILES (default 200)] [RTT_MS (default 20)] [SUBMIT_FILES (default 200)]
# SESSIONS=N (default 4) for the parallel submit and the poll. PARTS="vsftpd sim" (default) or one of them.
# (as root). Runs alternate between the clients; figures are medians; every upload is checked afterwards.
# On disk, not in tmpfs: the journal's synced writes (a name is durable before its upload) are part of what
# each file costs, and tmpfs would make them free.
BENCH_TMP=${BENCH_TMP:-/tmp}
source "$(dirname "$0")/lib.sh"

RUNS=${1:-3}
FILES=${2:-200}
RTT_MS=${3:-20}
SUBMIT_FILES=${4:-200}
SESSIONS=${SESSIONS:-4}
PARTS=${PARTS:-vsftpd sim}
CLIENTS=(skat curl lftp)
(( RTT_MS % 2 == 0 && RTT_MS > 0 )) || die "RTT_MS must be even and positive (the proxy delays each direction by half)"
(( FILES >= 2 && SUBMIT_FILES >= 2 )) || die "FILES and SUBMIT_FILES must be at least 2"
PROXY_HOST=127.0.0.2
SERVICE=Manifest.AfgangsdeklarationOpret
PIDS=()

stop_extra() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  PIDS=()
}
trap 'stop_extra; cleanup' EXIT

echo "== building skat-gateway, put_many and the proxy (release)"
(cd "$REPO" && cargo build --release --quiet --bin skat-gateway --example put_many --example latency_proxy)
BIN=$REPO/target/release

# start_proxy PORTS: forwards PROXY_HOST:PORTS to 127.0.0.1 with the delay; waits until it listens.
start_proxy() {
  local ready=$WORK/proxy.$RANDOM
  setpriv --pdeathsig KILL "$BIN/examples/latency_proxy" --listen "$PROXY_HOST" --upstream 127.0.0.1 --ports "$1" \
    --delay-ms "$((RTT_MS / 2))" >"$ready" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do
    grep -q '^ready' "$ready" && return 0
    kill -0 "${PIDS[-1]}" 2>/dev/null || die "the proxy exited: $(cat "$ready")"
    sleep 0.1
  done
  die "the proxy did not start"
}

RESULTS=$WORK/results
: >"$RESULTS"

# report ROWS...: each row "label|key_n|key_1|count_n|count_1" (the files of the big and of the small session);
# prints time, files/s, round trips per file, the small session's round trips, and the ratio to the best peer.
report() {
  local best=0 row label n one count count1
  for row in "$@"; do
    IFS="|" read -r label n one count count1 <<<"$row"
    [[ $label == skat* ]] && continue
    best=$(awk -v b="$best" -v c="$count" -v s="$(median "$n" 2)" 'BEGIN { r = c / s; print (r > b) ? r : b }')
  done
  printf '%-34s %9s %9s %11s %13s %10s %9s\n' client "time" "files/s" "RT / file" "small sess." "peak RSS" "vs best"
  for row in "$@"; do
    IFS="|" read -r label n one count count1 <<<"$row"
    awk -v l="$label" -v c="$count" -v c1="$count1" -v s="$(median "$n" 2)" -v s1="$(median "$one" 2)" -v r="$(median "$n" 3)" \
      -v rtt="$RTT_MS" -v best="$best" 'BEGIN {
        per = (s - s1) / (c - c1) / (rtt / 1000)
        printf "%-34s %7.2f s %9.1f %11.2f %10.1f RT %6.1f MiB %8.2fx\n", l, s, c / s, per, s1 / (rtt / 1000), r / 1024, (c / s) / best }'
  done
}

if [[ " $PARTS " == *" vsftpd "* ]]; then
start_vsftpd
start_proxy "$PORT,$((PORT + 1))-$((PORT + 10))"

# The same clients as lib.sh, through the proxy.
PROXIED_PUT_MANY=("${PUT_MANY[@]}")
PROXIED_PUT_MANY[2]=$PROXY_HOST
LFTP_PROXIED=${LFTP_SETUP/ftp:\/\/127.0.0.1/ftp:\/\/$PROXY_HOST}
LFTP_PROXIED="set ftp:ignore-pasv-address true; $LFTP_PROXIED"

SMALL=$WORK/small
mkdir -p "$SMALL"
NAMES=()
for ((i = 1; i <= FILES; i++)); do
  NAMES+=("$(printf 'decl%04d.xml' "$i")")
  head -c 4096 /dev/urandom >"$SMALL/${NAMES[-1]}"
done
WANT=$(cd "$SMALL" && sha256sum "${NAMES[@]}")

fresh() { rm -rf "${ROOT:?}/$1" && mkdir "$ROOT/$1" && chown "$BENCH_USER" "$ROOT/$1"; }
verify() { [ "$(cd "$ROOT/$2" && sha256sum "${NAMES[@]}" 2>/dev/null)" = "$WANT" ] || die "$1: the uploaded files differ"; }
CURL_GLOB="$SMALL/{$(IFS=,; echo "${NAMES[*]}")}"
ONE=$SMALL/${NAMES[0]}

job_skat() {
  fresh skat
  measure skat_n "${PROXIED_PUT_MANY[@]}" --remote-dir skat "${NAMES[@]/#/$SMALL/}"
  verify "put_many" skat
  fresh skat1
  measure skat_1 "${PROXIED_PUT_MANY[@]}" --remote-dir skat1 "$ONE"
}
job_curl() {
  fresh curl
  measure curl_n "${CURL[@]}" -T "$CURL_GLOB" "ftp://$PROXY_HOST:$PORT/curl/"
  verify "curl" curl
  fresh curl1
  measure curl_1 "${CURL[@]}" -T "$ONE" "ftp://$PROXY_HOST:$PORT/curl1/"
}
job_lftp() {
  fresh lftp
  measure lftp_n lftp -c "$LFTP_PROXIED; cd lftp; mput $SMALL/*"
  verify "lftp" lftp
  fresh lftp1
  measure lftp_1 lftp -c "$LFTP_PROXIED; cd lftp1; put $ONE"
}

echo "== $RUNS runs, alternating: $FILES x 4 KiB and 1 x 4 KiB in one session each, RTT $RTT_MS ms (vsftpd)"
alternate "$RUNS" "${CLIENTS[@]}"


echo
echo "== $FILES x 4 KiB uploads in one session at RTT $RTT_MS ms, median of $RUNS (vs best: files/s over the best of curl and lftp)"
report "skat-gateway(put_many)|skat_n|skat_1|$FILES|1" "curl|curl_n|curl_1|$FILES|1" "lftp|lftp_n|lftp_1|$FILES|1"
fi
[[ " $PARTS " == *" sim "* ]] || exit 0

# --- 2. submit and poll through the simulator.

stop_extra
unset SKAT_GATEWAY_PASSWORD  # set for vsftpd's user; the simulator's profile names its own password file
SIM=$WORK/sim
# Next to vsftpd's ports when it ran, else a random free-looking range of its own.
SIM_PORT=$(( ${PORT:-$(python3 -c 'import random; print(random.randrange(20000, 31980, 40))')} + 11 ))
setpriv --pdeathsig KILL "$BIN/skat-gateway" sim -q --dir "$SIM" --host 127.0.0.1 --server-name "$PROXY_HOST" \
  --port "$SIM_PORT" --legacy-port 0 --data-ports "$((SIM_PORT + 1))-$((SIM_PORT + 20))" >"$WORK/sim.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 300); do [ -f "$SIM/ready.json" ] && break; sleep 0.1; done
[ -f "$SIM/ready.json" ] || die "the simulator did not start: $(cat "$WORK/sim.log")"
start_proxy "$SIM_PORT,$((SIM_PORT + 1))-$((SIM_PORT + 20))"
SIM_USER=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["username"])' "$SIM/ready.json")
SIM_OUT=$SIM/users/$SIM_USER/out
SKAT=$BIN/skat-gateway
SIM_OPTS=(-q --config "$SIM/client.toml")
LFTP_SIM="set ftp:ssl-force true; set ftp:ssl-protect-data true; set ftp:ssl-protect-list true;
  set ssl:verify-certificate true; set ssl:ca-file $SIM/ca.pem; set ssl:cert-file $SIM/client-cert.pem;
  set ssl:key-file $SIM/client-key.pem; set ssl:priority 'NORMAL:-VERS-ALL:+VERS-TLS1.2'; set ftp:passive-mode true;
  set ftp:ignore-pasv-address true; set net:max-retries 1;
  open -u $SIM_USER,$(cat "$SIM/gateway.password") ftp://$PROXY_HOST:$SIM_PORT"

# Fresh declarations per run (the journal skips content it has sent; the gateway takes a name once).
declarations() { # declarations FOLDER COUNT
  rm -rf "$1" && mkdir -p "$1"
  for ((i = 1; i <= $2; i++)); do
    printf '<declaration run="%s" n="%d">%s</declaration>\n' "$1" "$i" "$(head -c 3000 /dev/urandom | base64 -w0)" >"$1/d$i.xml"
  done
}
# Waits until `out` holds COUNT files and no more arrive (the simulator writes receipts after short delays).
wait_for_out() {
  local last=-1 now
  for _ in $(seq 600); do
    now=$(find "$SIM_OUT" -maxdepth 1 -type f | wc -l)
    [ "$now" -ge "$1" ] && [ "$now" = "$last" ] && return 0
    last=$now
    sleep 0.5
  done
  die "out holds $now files, expected $1"
}
RUN=0
job_submit() {
  RUN=$((RUN + 1))
  declarations "$WORK/d$RUN" "$SUBMIT_FILES"
  measure submit_n "$SKAT" submit "${SIM_OPTS[@]}" --sessions 1 -s "$SERVICE" "$WORK/d$RUN"/*.xml
  declarations "$WORK/p$RUN" "$SUBMIT_FILES"
  measure submitp_n "$SKAT" submit "${SIM_OPTS[@]}" --sessions "$SESSIONS" -s "$SERVICE" "$WORK/p$RUN"/*.xml
  declarations "$WORK/e$RUN" 1
  measure submit_1 "$SKAT" submit "${SIM_OPTS[@]}" -s "$SERVICE" "$WORK/e$RUN/d1.xml"
  wait_for_out $((4 * (2 * SUBMIT_FILES + 1)))
  measure poll_n "$SKAT" poll "${SIM_OPTS[@]}" --sessions "$SESSIONS"
  [ "$(find "$SIM_OUT" -maxdepth 1 -type f | wc -l)" = 0 ] || die "poll left files in out"
  declarations "$WORK/e$RUN" 1
  "$SKAT" submit "${SIM_OPTS[@]}" -s "$SERVICE" "$WORK/e$RUN/d1.xml" >/dev/null
  wait_for_out 4
  measure poll_1 "$SKAT" poll "${SIM_OPTS[@]}"
}
job_lftpsim() {
  RUN=$((RUN + 1))
  declarations "$WORK/d$RUN" "$SUBMIT_FILES"
  (cd "$WORK/d$RUN" && for f in *.xml; do mv "$f" "L${RUN}x$f"; done)
  measure lmput_n lftp -c "$LFTP_SIM; cd $SERVICE; mput $WORK/d$RUN/*.xml"
  declarations "$WORK/e$RUN" 1
  mv "$WORK/e$RUN/d1.xml" "$WORK/e$RUN/L${RUN}y.xml"
  measure lmput_1 lftp -c "$LFTP_SIM; cd $SERVICE; put $WORK/e$RUN/L${RUN}y.xml"
  wait_for_out $((4 * (SUBMIT_FILES + 1)))
  mkdir -p "$WORK/lin$RUN" "$WORK/lin1$RUN"
  measure lmget_n lftp -c "$LFTP_SIM; cd out; lcd $WORK/lin$RUN; mget -E *"
  [ "$(find "$SIM_OUT" -maxdepth 1 -type f | wc -l)" = 0 ] || die "lftp mget -E left files in out"
  mv "$WORK/e$RUN/L${RUN}y.xml" "$WORK/e$RUN/L${RUN}z.xml"
  lftp -c "$LFTP_SIM; cd $SERVICE; put $WORK/e$RUN/L${RUN}z.xml" >/dev/null
  wait_for_out 4
  measure lmget_1 lftp -c "$LFTP_SIM; cd out; lcd $WORK/lin1$RUN; mget -E *"
}

echo
echo "== $RUNS runs, alternating: submit and poll of $SUBMIT_FILES declarations (and of 1) through the simulator, RTT $RTT_MS ms"
alternate "$RUNS" submit lftpsim
echo
echo "== submit: $SUBMIT_FILES declarations in one process (one session), median of $RUNS"
report "skat-gateway submit, 1 session|submit_n|submit_1|$SUBMIT_FILES|1" \
  "skat-gateway submit, $SESSIONS sessions|submitp_n|submit_1|$SUBMIT_FILES|1" "lftp mput|lmput_n|lmput_1|$SUBMIT_FILES|1"
echo
echo "== poll: the receipts (status 1, 2, 3, response: 4 per declaration) fetched and deleted (skat-gateway on up to $SESSIONS sessions, lftp on one), median of $RUNS; small session: those of one declaration"
report "skat-gateway poll, $SESSIONS sessions|poll_n|poll_1|$((4 * (2 * SUBMIT_FILES + 1)))|4" "lftp mget -E|lmget_n|lmget_1|$((4 * (SUBMIT_FILES + 1)))|4"
