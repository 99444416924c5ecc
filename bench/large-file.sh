#!/usr/bin/env bash
# Upload and download of one large file (default 256 MiB) over FTPS to a gateway-like vsftpd on loopback:
# skat-gateway (release build) against curl and lftp, runs alternating, medians and spread, ratios against the
# best peer (of the medians, and in this tool's worst round) and peak RSS (GNU time's maximum resident set size).
# The files are in tmpfs (see BENCH_TMP in lib.sh).
#
# Usage: bench/large-file.sh [RUNS (default 5)] [SIZE_MIB (default 256)]     (as root)
# BENCH_CLIENTS="skat curl lftp" (the default) chooses the clients.
source "$(dirname "$0")/lib.sh"

RUNS=${1:-5}
SIZE_MIB=${2:-256}
read -r -a CLIENTS <<<"${BENCH_CLIENTS:-skat curl lftp}"
# Downloads are also timed with `get --sync` (fsync before the rename: the promise `poll` keeps before it
# deletes a remote file), which neither curl nor lftp makes; the plain `get` is the like-for-like figure.
DOWN_CLIENTS=("${CLIENTS[@]}")
[[ " ${CLIENTS[*]} " == *" skat "* ]] && DOWN_CLIENTS+=(skatsync)

build_skat_gateway
start_vsftpd

BIG=$WORK/big.bin
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >"$BIG"
WANT=$(sha256sum <"$BIG" | cut -d' ' -f1)
# The download source, placed on the server directly (owned by the user, as an upload would be).
cp "$BIG" "$ROOT/source.bin" && chown "$BENCH_USER" "$ROOT/source.bin"
DOWN=$WORK/down.bin
RESULTS=$WORK/results
: >"$RESULTS"

verify() { # verify WHAT FILE: the copy must be intact, else the figures mean nothing
  [ "$(sha256sum <"$2" | cut -d' ' -f1)" = "$WANT" ] || die "$1: the transferred file differs from the original"
  rm -f "$2"
}

job_up_skat() { measure up_skat "$REPO/target/release/skat-gateway" -q put "${SKAT_OPTS[@]}" "$BIG" up-skat.bin; verify "skat-gateway put" "$ROOT/up-skat.bin"; }
job_up_curl() { measure up_curl "${CURL[@]}" -T "$BIG" "ftp://127.0.0.1:$PORT/up-curl.bin"; verify "curl upload" "$ROOT/up-curl.bin"; }
job_up_lftp() { measure up_lftp lftp -c "$LFTP_SETUP; put $BIG -o up-lftp.bin"; verify "lftp put" "$ROOT/up-lftp.bin"; }
job_down_skatsync() { measure down_skatsync "$REPO/target/release/skat-gateway" -q get --sync "${SKAT_OPTS[@]}" source.bin "$DOWN"; verify "skat-gateway get --sync" "$DOWN"; }
job_down_skat() { measure down_skat "$REPO/target/release/skat-gateway" -q get "${SKAT_OPTS[@]}" source.bin "$DOWN"; verify "skat-gateway get" "$DOWN"; }
job_down_curl() { measure down_curl "${CURL[@]}" -o "$DOWN" "ftp://127.0.0.1:$PORT/source.bin"; verify "curl download" "$DOWN"; }
job_down_lftp() { measure down_lftp lftp -c "$LFTP_SETUP; get source.bin -o $DOWN"; verify "lftp get" "$DOWN"; }

echo "== $RUNS runs each, alternating: upload and download of $SIZE_MIB MiB"
alternate "$RUNS" "${CLIENTS[@]/#/up_}"
alternate "$RUNS" "${DOWN_CLIENTS[@]/#/down_}"

# nth NAME N: NAME's seconds in its N-th run (the rounds of `alternate` line up across clients).
nth() { awk -v n="$1" -v k="$2" '$1 == n && ++seen == k { print $2 }' "$RESULTS"; }

# The best peer of a direction: curl or lftp, whichever has the lower median.
best_peer() {
  local direction=$1 best= best_s=
  for peer in curl lftp; do
    [[ " ${CLIENTS[*]} " == *" $peer "* ]] || continue
    local s
    s=$(median "${direction}_$peer" 2)
    if [ -z "$best" ] || awk -v a="$s" -v b="$best_s" 'BEGIN { exit !(a < b) }'; then best=$peer best_s=$s; fi
  done
  echo "$best"
}

report() { # report DIRECTION CLIENT...
  local direction=$1 peer peer_s
  shift
  peer=$(best_peer "$direction")
  peer_s=$(median "${direction}_$peer" 2)
  for tool in "$@"; do
    local s rss spread worst=
    s=$(median "${direction}_$tool" 2)
    rss=$(median "${direction}_$tool" 3)
    spread=$(awk -v n="${direction}_$tool" '$1 == n { if (lo == "" || $2 < lo) lo = $2; if ($2 > hi) hi = $2 } END { printf "%.2f-%.2f", lo, hi }' "$RESULTS")
    # The worst round: this tool's time against the faster peer of the same round (same moment of the machine).
    if [[ $tool == skat* ]]; then
      worst=$(for ((r = 1; r <= RUNS; r++)); do
        best_round=
        for p in curl lftp; do
          [[ " ${CLIENTS[*]} " == *" $p "* ]] || continue
          t=$(nth "${direction}_$p" "$r")
          if [ -z "$best_round" ] || awk -v a="$t" -v b="$best_round" 'BEGIN { exit !(a < b) }'; then best_round=$t; fi
        done
        [ -n "$best_round" ] && awk -v p="$best_round" -v t="$(nth "${direction}_$tool" "$r")" 'BEGIN { printf "%.3f\n", p / t }'
      done | sort -g | head -1)
    fi
    awk -v d="$direction" -v t="$tool" -v s="$s" -v c="$peer_s" -v m="$SIZE_MIB" -v r="$rss" -v sp="$spread" -v w="${worst:--}" 'BEGIN {
      name = (t == "skat") ? "skat-gateway" : (t == "skatsync") ? "skat --sync" : t
      printf "%-9s %-13s %8.2f s %11s %9.1f MiB/s %8.2fx %9s %10.1f MiB\n", d, name, s, sp, m / s, c / s, (w == "-") ? "-" : sprintf("%.2fx", w), r / 1024 }'
  done
}
echo
echo "== $SIZE_MIB MiB, median of $RUNS runs in $BENCH_TMP (ratio: the best peer's median time / this tool's;"
echo "   worst round: the same ratio in this tool's worst round, against the faster peer of that round; >1 = faster)"
printf '%-9s %-13s %10s %11s %15s %9s %9s %14s\n' direction client time spread throughput "vs best" "worst rd" "peak RSS"
report up "${CLIENTS[@]}"
report down "${DOWN_CLIENTS[@]}"
