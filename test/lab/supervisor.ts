/**
 * The per-host supervisor: a bash script started by `unshare --mount --uts --propagation private`.
 *
 * Inside its private mount namespace it bind-mounts the host's directories over Postfix's default
 * paths, starts Postfix and sshd, prints `started <pid>` and then waits on stdin:
 *   - a `stop` line      -> tear down this host (processes, address); the lab removes the files;
 *   - EOF or TERM/INT/HUP -> the owner went away: tear down AND remove the host directory.
 * Because the namespace is private, the bind mounts vanish with its last process; teardown makes
 * sure that no process of the namespace survives (sshd sessions, postfix daemons, stray commands).
 *
 * Kept as a TypeScript string so that tsc's dist/ output is self-contained.
 */
export const SUPERVISOR_SCRIPT = `
set -u
H="$LAB_HOST_DIR"
STOPPING=0
ORPHAN=1
SSHD=
log() { printf 'lab-supervisor[%s]: %s\\n' "$$" "$*" >&2; }

# Fill NSPIDS with every pid in this mount namespace except this shell. Builtins only (no forks),
# so the scan never sees its own helpers.
ns_pids() {
  NSPIDS=()
  local p pid
  for p in /proc/[0-9]*; do
    pid=\${p#/proc/}
    [ "$pid" = "$$" ] && continue
    [[ "$p/ns/mnt" -ef "/proc/$$/ns/mnt" ]] && NSPIDS+=("$pid")
  done
}

teardown() {
  local code=\${1:-0}
  [ "$STOPPING" = 1 ] && return
  STOPPING=1
  trap '' TERM INT HUP PIPE
  local mp=
  if [ -r /var/spool/postfix/pid/master.pid ]; then
    read -r mp < /var/spool/postfix/pid/master.pid || true
    [ -n "$mp" ] && kill -TERM "$mp" 2>/dev/null
  fi
  [ -n "$SSHD" ] && kill -TERM "$SSHD" 2>/dev/null
  local i
  for i in $(seq 60); do
    ns_pids
    [ \${#NSPIDS[@]} -eq 0 ] && break
    [ "$i" = 20 ] && kill -TERM "\${NSPIDS[@]}" 2>/dev/null
    sleep 0.05
  done
  ns_pids
  [ \${#NSPIDS[@]} -gt 0 ] && kill -KILL "\${NSPIDS[@]}" 2>/dev/null
  if [ "\${LAB_ADDR_ADDED:-0}" = 1 ]; then ip addr del "$LAB_ADDR/32" dev lo 2>/dev/null; fi
  if [ "$ORPHAN" = 1 ]; then
    log "owner gone: removing $H"
    rm -rf -- "$H"
    # the last host of an abandoned lab removes the lab directory too
    shopt -s nullglob
    local L=\${H%/*} left
    left=("$L"/host*/)
    [ \${#left[@]} -eq 0 ] && [ -f "$L/owner.json" ] && rm -rf -- "$L"
    [ -n "\${LAB_RESERVATION:-}" ] && rm -f -- "$LAB_RESERVATION"
  fi
  echo stopped 2>/dev/null
  exit "$code"
}
trap 'teardown 0' TERM INT HUP
trap '' PIPE

BINDS=("etc-postfix:/etc/postfix" "spool:/var/spool/postfix" "lib:/var/lib/postfix" "mail:/var/mail" "log:/var/log" "run:/run" "hosts:/etc/hosts")
[ "\${LAB_SUDOERS:-0}" = 1 ] && BINDS+=("sudoers.d:/etc/sudoers.d")
for b in "\${BINDS[@]}"; do
  src="$H/\${b%%:*}"; dst="\${b#*:}"
  mount --bind "$src" "$dst" || { log "cannot bind $src over $dst"; teardown 3; }
done
hostname "$LAB_HOSTNAME" || log "cannot set hostname"
cd /
newaliases >&2 || { log "newaliases failed"; teardown 4; }
postfix start >&2 || { log "postfix start failed"; teardown 4; }
/usr/sbin/sshd -D -e -f "$H/ssh/sshd_config" </dev/null >/dev/null 2>>/var/log/sshd.log &
SSHD=$!
echo "started $$"
while IFS= read -r line; do
  case "$line" in
    stop) ORPHAN=0; teardown 0 ;;
  esac
done
log "stdin closed"
teardown 0
`;
