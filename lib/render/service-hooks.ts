/**
 * Host-side scripts for the `dkim-keygen` and `service-restart` bundle hooks. The remote transaction
 * runs them as `sh payload/hook-<kind>.sh PATH BITS GENERATION`, arguments as separate argv entries,
 * never evaluated. Both are fixed text: everything they act on arrives as validated arguments.
 */

/**
 * dkim-keygen PATH BITS: an RSA key (PKCS#8 PEM, the form opendkim-genkey writes and OpenDKIM reads)
 * written beside PATH and renamed into place, mode 0600, owner opendkim, so the key never leaves the
 * host. An existing key is kept unless the transaction planned a new generation.
 */
export function renderDkimKeygenScript(): string {
  return `# cdktf-postfix dkim-keygen: sh hook-dkim-keygen.sh PATH BITS [GENERATION]
set -eu
path=$1 bits=$2
case "$path" in /*) ;; *) echo "dkim-keygen: $path is not an absolute path" >&2; exit 2 ;; esac
case "$bits" in 2048|3072|4096) ;; *) echo "dkim-keygen: $bits is not 2048, 3072 or 4096" >&2; exit 2 ;; esac
id opendkim > /dev/null 2>&1 || { echo "dkim-keygen: no opendkim user on the host: install the opendkim package (apt-get install opendkim)" >&2; exit 3; }
dir=$(dirname "$path")
mkdir -p "$dir"
umask 077
rm -f "$path.cdktf-new"
openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:$bits" -out "$path.cdktf-new" 2>&1
chown opendkim:opendkim "$path.cdktf-new"
chmod 0600 "$path.cdktf-new"
mv -f "$path.cdktf-new" "$path"
`;
}

/**
 * service-restart CONF: (re)start the daemon whose configuration file is CONF. Supported: opendkim
 * (CONF named opendkim.conf). With systemd running and the packaged path /etc/opendkim.conf it is
 * \`systemctl restart opendkim\` (Debian's unit runs /usr/sbin/opendkim, which reads that file).
 * Otherwise (containers, lab hosts, a second configuration) the daemon is stopped through its
 * PidFile and started as \`opendkim -x CONF\`, which detaches and writes the PidFile again.
 */
export function renderServiceRestartScript(): string {
  return `# cdktf-postfix service-restart: sh hook-service-restart.sh CONF [BITS GENERATION]
set -u
conf=$1
case "$conf" in
  /*/opendkim.conf) daemon=/usr/sbin/opendkim ;;
  *) echo "service-restart: no supported service is configured by $conf (supported: opendkim.conf)" >&2; exit 2 ;;
esac
[ -x "$daemon" ] || { echo "service-restart: $daemon is missing: install the opendkim package (apt-get install opendkim)" >&2; exit 3; }
if [ "$conf" = /etc/opendkim.conf ] && [ -d /run/systemd/system ] && command -v systemctl > /dev/null 2>&1; then
  systemctl restart opendkim 9>&- 2>&1 || { systemctl status --no-pager opendkim 2>&1 | tail -n 5; exit 4; }
  exit 0
fi
"$daemon" -n -x "$conf" 2>&1 || { echo "service-restart: opendkim -n refused $conf" >&2; exit 4; }
pidfile=$(awk '$1 == "PidFile" { print $2 }' "$conf")
[ -n "$pidfile" ] || { echo "service-restart: $conf sets no PidFile" >&2; exit 2; }
piddir=$(dirname "$pidfile")
mkdir -p "$piddir" && chown opendkim:opendkim "$piddir" && chmod 0750 "$piddir"
old=""
[ -s "$pidfile" ] && read -r old < "$pidfile"
if [ -n "$old" ] && kill -0 "$old" 2> /dev/null; then
  kill -TERM "$old"
  i=0
  while kill -0 "$old" 2> /dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  kill -0 "$old" 2> /dev/null && { echo "service-restart: opendkim $old did not stop within 10 s" >&2; exit 5; }
fi
rm -f "$pidfile"
# The daemon must not inherit the transaction's descriptors: fd 9 holds the apply lock (flock), and
# a daemon keeping it would make every later apply wait.
"$daemon" -x "$conf" < /dev/null 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- 2>&1 || { echo "service-restart: opendkim -x $conf failed to start" >&2; exit 6; }
i=0
while [ ! -s "$pidfile" ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$pidfile" ] || { echo "service-restart: opendkim wrote no $pidfile within 10 s (see the mail log)" >&2; exit 6; }
read -r new < "$pidfile"
sleep 0.2
kill -0 "$new" 2> /dev/null || { echo "service-restart: opendkim exited right after starting (see the mail log)" >&2; exit 6; }
exit 0
`;
}
