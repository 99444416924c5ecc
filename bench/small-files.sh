#!/usr/bin/env bash
# Many small uploads in one session (default 200 files of 4 KiB, like a day's declarations) over FTPS to a
# gateway-like vsftpd on loopback: skat-gateway (release build; the raw session of examples/put_many, and
# `submit` with its journal and spool) against curl (all files in one invocation,
# so it keeps the connection) and lftp (mput), runs alternating, medians, files per second, ratios against
# curl, and peak RSS.
#
# Usage: bench/small-files.sh [RUNS (default 5)] [FILES (default 200)] [SIZE_KIB (default 4)]   (as root)
# BENCH_CLIENTS="skat curl lftp" (the default) chooses the clients.
# On disk, not in tmpfs: the journal's synced writes (a name is durable before its upload) are part of what
# each file costs, and tmpfs would make them free.
BENCH_TMP=${BENCH_TMP:-/tmp}
source "$(dirname "$0")/lib.sh"

RUNS=${1:-5}
FILES=${2:-200}
SIZE_KIB=${3:-4}
read -r -a CLIENTS <<<"${BENCH_CLIENTS:-skat curl lftp}"

build_skat_gateway
start_vsftpd

SMALL=$WORK/small
mkdir -p "$SMALL"
NAMES=()
for ((i = 1; i <= FILES; i++)); do
  NAMES+=("$(printf 'decl%04d.xml' "$i")")
  head -c "$((SIZE_KIB * 1024))" /dev/urandom >"$SMALL/${NAMES[-1]}"
done
WANT=$(cd "$SMALL" && sha256sum "${NAMES[@]}")
RESULTS=$WORK/results
: >"$RESULTS"

# Each client uploads into a fresh folder of its own; afterwards every file must be there, intact.
fresh() { rm -rf "${ROOT:?}/$1" && mkdir "$ROOT/$1" && chown "$BENCH_USER" "$ROOT/$1"; }
verify() { # verify WHAT FOLDER
  [ "$(cd "$ROOT/$2" && sha256sum "${NAMES[@]}" 2>/dev/null)" = "$WANT" ] || die "$1: the uploaded files differ from the originals"
}
CURL_GLOB="$SMALL/{$(IFS=,; echo "${NAMES[*]}")}"

job_skat() {
  fresh skat
  measure skat "${PUT_MANY[@]}" --remote-dir skat "${NAMES[@]/#/$SMALL/}"
  verify "skat-gateway put" skat
}
job_curl() {
  fresh curl
  measure curl "${CURL[@]}" -T "$CURL_GLOB" "ftp://127.0.0.1:$PORT/curl/"
  verify "curl -T {...}" curl
}
job_lftp() {
  fresh lftp
  measure lftp lftp -c "$LFTP_SETUP; cd lftp; mput $SMALL/*"
  verify "lftp mput" lftp
}

# `submit`, the path users take: every name journaled (synced) before its upload, a snapshot in the spool,
# the content checked against the journal; one session, in a service folder, under generated names. The
# profile talks to the same vsftpd; the journal grows over the runs, as a user's does (--again: the same
# content is sent again each run).
SERVICE=Manifest.AnkomstdeklarationOpret
cat >"$WORK/submit.toml" <<EOF
default_profile = "bench"
[profiles.bench]
certificate = "$CLIENT_CERT"
key = "$CLIENT_KEY"
ca_file = "$CA"
system_roots = false
journal = "$WORK/journal.sqlite"
inbox = "$WORK/inbox"
[profiles.bench.new]
host = "127.0.0.1"
port = $PORT
EOF
job_submit() {
  fresh "$SERVICE"
  measure submit "$REPO/target/release/skat-gateway" submit -q --config "$WORK/submit.toml" --sessions 1 --again \
    -s "$SERVICE" "${NAMES[@]/#/$SMALL/}"
  # Generated names: the folder must hold exactly the contents sent.
  [ "$(cd "$ROOT/$SERVICE" && sha256sum -- * | cut -d' ' -f1 | sort)" = "$(echo "$WANT" | cut -d' ' -f1 | sort)" ] ||
    die "submit: the uploaded files differ from the originals"
}
[[ " ${CLIENTS[*]} " == *" skat "* ]] && CLIENTS+=(submit)

echo "== $RUNS runs each, alternating: $FILES uploads of $SIZE_KIB KiB in one session"
alternate "$RUNS" "${CLIENTS[@]}"

echo
# The best peer: curl or lftp, whichever has the lower median.
best=
for peer in curl lftp; do
  [[ " ${CLIENTS[*]} " == *" $peer "* ]] || continue
  if [ -z "$best" ] || awk -v a="$(median "$peer" 2)" -v b="$(median "$best" 2)" 'BEGIN { exit !(a < b) }'; then best=$peer; fi
done
echo "== $FILES files of $SIZE_KIB KiB in one session, median of $RUNS runs (ratios: files/s over curl's, and over the best peer's, $best)"
printf '%-13s %10s %12s %9s %9s %14s\n' client time "files/s" "vs curl" "vs best" "peak RSS"
curl_s=$(median curl 2)
best_s=$(median "${best:-curl}" 2)
for tool in "${CLIENTS[@]}"; do
  awk -v t="$tool" -v s="$(median "$tool" 2)" -v c="$curl_s" -v b="$best_s" -v n="$FILES" -v r="$(median "$tool" 3)" 'BEGIN {
    name = (t == "skat") ? "skat (raw)" : (t == "submit") ? "skat submit" : t
    printf "%-13s %8.2f s %12.1f %8.2fx %8.2fx %10.1f MiB\n", name, s, n / s, c / s, b / s, r / 1024 }'
done
