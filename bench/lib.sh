# Shared by the bench/ scripts (source it, do not run it): a gateway-like vsftpd on loopback and the peer
# clients' command lines. The server is configured as in tests/interop/vsftpd.rs (keep the two in step):
# explicit FTPS forced for login and data, TLS 1.2 only (OPENSSL_CONF with Min/MaxProtocol), client
# certificate required and validated, require_ssl_reuse=YES, a passive port range.
#
# Needs root (vsftpd serves a local system user), vsftpd, openssl, curl, lftp and GNU time: when one is
# missing, scripts/install-test-deps is run first to install them (Debian's packages).

set -euo pipefail

BENCH_USER=CVR_12345678_UID_1234567890
BENCH_PASSWORD=interop-test-password
BENCH_HOME=/var/lib/skat-gateway-interop
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

die() { echo "bench: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root: vsftpd serves a local system user that this script creates"
BENCH_TOOLS=(openssl curl lftp /usr/bin/time /usr/sbin/vsftpd)
for tool in "${BENCH_TOOLS[@]}"; do
  if ! command -v "$tool" >/dev/null; then
    echo "== $tool is missing: installing the benchmark's tools (scripts/install-test-deps)"
    "$REPO/scripts/install-test-deps" || die "scripts/install-test-deps failed; see its output above"
    break
  fi
done
for tool in "${BENCH_TOOLS[@]}"; do
  command -v "$tool" >/dev/null || die "$tool is still missing after scripts/install-test-deps"
done

# A work folder for this run: PKI, server config and logs, the files to transfer. Removed on exit. By default
# it is in tmpfs (/dev/shm) where there is one: a disk under the files makes large transfers vary twofold from
# run to run (writeback), which would measure the disk, not the clients. BENCH_TMP=/some/folder chooses
# another (latency.sh and small-files.sh choose /tmp, see there).
BENCH_TMP=${BENCH_TMP:-$( [ -d /dev/shm ] && [ -w /dev/shm ] && echo /dev/shm || echo /tmp )}
WORK=$(mktemp -d "$BENCH_TMP/skat-gateway-bench.XXXXXX")
chmod 755 "$WORK"
VSFTPD_PID=

cleanup() {
  stop_vsftpd
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The test PKI: a CA, a server certificate for localhost/127.0.0.1 (and 127.0.0.2, where bench/latency.sh puts
# its delaying proxy), a VOCES-shaped client certificate.
mint_pki() {
  local d=$WORK/pki
  mkdir -p "$d"
  (
    cd "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout ca.key -out ca.pem -subj "/CN=skat-gateway bench CA" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost 2>/dev/null
    printf 'basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1,IP:127.0.0.2\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 0x1001 -days 2 -extfile server.ext -out server.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr \
      -subj "/C=DK/O=Bench A\/S \/\/ CVR:12345678/CN=Bench A\/S - Gateway+serialNumber=CVR:12345678-UID:1234567890" 2>/dev/null
    printf 'basicConstraints=critical,CA:FALSE\nextendedKeyUsage=clientAuth\n' >client.ext
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -set_serial 0x1002 -days 2 -extfile client.ext -out client.pem 2>/dev/null
  )
  CA=$d/ca.pem CLIENT_CERT=$d/client.pem CLIENT_KEY=$d/client.key
}

# The local user the client certificate's user name implies (same user and password as the interop tests).
ensure_user() {
  flock /tmp/skat-gateway-interop-user.lock sh -c "
    id -u $BENCH_USER >/dev/null 2>&1 || useradd --badname --no-create-home --home-dir $BENCH_HOME --shell /bin/sh $BENCH_USER
    echo '$BENCH_USER:$BENCH_PASSWORD' | chpasswd
    mkdir -p $BENCH_HOME && chown $BENCH_USER $BENCH_HOME"
}

# Starts vsftpd on 127.0.0.1:$PORT with passive ports PORT+1..PORT+10 (ROOT is what the user sees as /).
start_vsftpd() {
  mint_pki
  ensure_user
  ROOT=$WORK/root
  mkdir -p "$ROOT" "$WORK/empty"
  chown "$BENCH_USER" "$ROOT"
  PORT=$(python3 -c 'import random; print(random.randrange(20000, 31980, 20))')
  cat >"$WORK/openssl.cnf" <<EOF
openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
MinProtocol = TLSv1.2
MaxProtocol = TLSv1.2
EOF
  cat >"$WORK/vsftpd.conf" <<EOF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=$PORT
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
local_root=$ROOT
ssl_enable=YES
allow_anon_ssl=NO
force_local_logins_ssl=YES
force_local_data_ssl=YES
ssl_sslv2=NO
ssl_sslv3=NO
ssl_tlsv1=YES
ssl_ciphers=HIGH:!aNULL
rsa_cert_file=$WORK/pki/server.pem
rsa_private_key_file=$WORK/pki/server.key
require_cert=YES
validate_cert=YES
ca_certs_file=$CA
require_ssl_reuse=YES
port_enable=NO
pasv_enable=YES
pasv_min_port=$((PORT + 1))
pasv_max_port=$((PORT + 10))
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
secure_chroot_dir=$WORK/empty
xferlog_enable=NO
EOF
  OPENSSL_CONF=$WORK/openssl.cnf setpriv --pdeathsig KILL /usr/sbin/vsftpd "$WORK/vsftpd.conf" >"$WORK/vsftpd.console" 2>&1 &
  VSFTPD_PID=$!
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then set_clients; return 0; fi
    kill -0 "$VSFTPD_PID" 2>/dev/null || die "vsftpd exited: $(cat "$WORK/vsftpd.console")"
    sleep 0.1
  done
  die "vsftpd did not listen on 127.0.0.1:$PORT"
}

# Stops the server and its session processes (they setsid, so they are found as its children), by pid.
stop_vsftpd() {
  [ -n "$VSFTPD_PID" ] || return 0
  kill -s STOP "$VSFTPD_PID" 2>/dev/null || true
  local children
  children=$(ps -o pid= --ppid "$VSFTPD_PID" 2>/dev/null || true)
  # shellcheck disable=SC2086
  kill -s KILL $children "$VSFTPD_PID" 2>/dev/null || true
  wait "$VSFTPD_PID" 2>/dev/null || true
  VSFTPD_PID=
}

# Builds the CLI as users run it (release), unless skat-gateway is not among the clients compared.
build_skat_gateway() {
  [[ " ${CLIENTS[*]} " == *" skat "* ]] || return 0
  echo "== building skat-gateway (release)"
  (cd "$REPO" && cargo build --release --quiet --bin skat-gateway --example put_many)
}

# --- the clients, each set up like a gateway client: TLS 1.2 only, client certificate, the test CA.

# Command lines (arrays) for `measure`, which runs a program (not a shell function) under GNU time.
set_clients() {
  export SKAT_GATEWAY_PASSWORD=$BENCH_PASSWORD
  # The connection options belong to the subcommand: skat SUBCOMMAND ARGS... runs the CLI with them.
  SKAT_OPTS=(--host 127.0.0.1 --port "$PORT" --cert "$CLIENT_CERT" --key "$CLIENT_KEY" --ca-file "$CA")
  # Many files in one session: the CLI's put takes one file per session, so this library example does it.
  PUT_MANY=("$REPO/target/release/examples/put_many" --host 127.0.0.1 --port "$PORT" --cert "$CLIENT_CERT"
    --key "$CLIENT_KEY" --ca-file "$CA")
  CURL=(curl --silent --show-error --fail --ssl-reqd --tlsv1.2 --tls-max 1.2 --cert "$CLIENT_CERT" --key "$CLIENT_KEY"
    --cacert "$CA" --user "$BENCH_USER:$BENCH_PASSWORD")
  # lftp (GnuTLS), TLS 1.2 only; append the commands to run after the login to LFTP_SETUP.
  LFTP_SETUP="set ftp:ssl-force true; set ftp:ssl-protect-data true; set ftp:ssl-protect-list true;
    set ssl:verify-certificate true; set ssl:ca-file $CA; set ssl:cert-file $CLIENT_CERT; set ssl:key-file $CLIENT_KEY;
    set ssl:priority 'NORMAL:-VERS-ALL:+VERS-TLS1.2'; set ftp:passive-mode true; set net:max-retries 1;
    open -u $BENCH_USER,$BENCH_PASSWORD ftp://127.0.0.1:$PORT"
}

# --- measuring

# measure NAME COMMAND...: runs the command under GNU time; appends "NAME seconds max-rss-kib" to $RESULTS.
measure() {
  local name=$1
  shift
  local stats=$WORK/time.out
  /usr/bin/time -o "$stats" -f '%e %M' "$@" >/dev/null || die "$name failed: $*"
  echo "$name $(tail -1 "$stats")" >>"$RESULTS"
}

# median NAME COLUMN: the median of a column (2 = seconds, 3 = RSS KiB) of NAME's rows in $RESULTS.
median() {
  awk -v n="$1" -v c="$2" '$1 == n { print $c }' "$RESULTS" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Runs each of the named jobs RUNS times, alternating (A B C, B C A, C A B, ...) so that a slow
# moment of the machine does not fall on one client only. Each job NAME is a shell function job_NAME
# that calls `measure NAME ...` itself (so it may prepare things untimed first).
alternate() {
  local runs=$1
  shift
  local jobs=("$@") n=${#jobs[@]}
  for ((r = 0; r < runs; r++)); do
    for ((j = 0; j < n; j++)); do
      "job_${jobs[(r + j) % n]}"
    done
  done
}
