# cdktf-postfix remote transaction: reload (or start) Postfix and wait until the new configuration
# runs (sourced by transaction.sh).

# master handles SIGHUP in its event loop: it logs "reload", then re-reads main.cf and master.cf
# and binds new listeners; a bind failure is fatal and it exits. The log line comes first, so it
# proves only that the reload began. A second SIGHUP is the barrier: master logs its "reload" only
# after the first refresh has finished. Seeing both lines with master still alive proves the new
# configuration is running. (Without a mail log we can read: wait a second and look.)
# One postconf call for both: the log Postfix writes (if we can read it) and master's pid.
reload_probe() {
  set -- $(postconf -c "$C" -h queue_directory maillog_file 2>/dev/null)
  q=${1:-} f=${2:-} LOG="" PID=""
  if [ -n "$f" ] && [ -f "$f" ]; then LOG=$f; elif [ -f /var/log/mail.log ]; then LOG=/var/log/mail.log; fi
  [ -n "$q" ] && [ -f "$q/pid/master.pid" ] && read -r PID < "$q/pid/master.pid"
  OFFSET=0; [ -n "$LOG" ] && OFFSET=$(stat -c %s "$LOG")
}
wait_for_reload_ack() {
  log=$1 offset=$2 pid=$3 i=0 hup_sent=no
  if [ -z "$log" ] || [ -z "$pid" ]; then sleep 1; return; fi
  while [ "$i" -lt 150 ]; do
    kill -0 "$pid" 2>/dev/null || return 0
    n=$(tail -c +"$((offset + 1))" "$log" 2>/dev/null | grep -c "/master\[$pid\]: reload")
    if [ "$n" -ge 2 ]; then return 0; fi
    if [ "$n" -ge 1 ] && [ "$hup_sent" = no ]; then kill -HUP "$pid" 2>/dev/null; hup_sent=yes; fi
    sleep 0.05; i=$((i + 1))
  done
  return 1
}
reload_or_start() {
  if [ "$ACTION" = destroy ] && [ "$WAS_RUNNING" = no ]; then :
  elif [ "$WAS_RUNNING" = yes ]; then
    reload_probe
    postfix -c "$C" reload > "$D/reload.out" 2>&1 || rollback "postfix reload failed: $(head -c 1000 "$D/reload.out" | tr '\n' ' ')"
    say "ran${TAB}postfix reload"
    wait_for_reload_ack "$LOG" "$OFFSET" "$PID" || rollback "master did not acknowledge the reload within 7 seconds (see the mail log); the previous configuration was restored"
    if [ -n "$PID" ]; then alive() { kill -0 "$PID" 2>/dev/null; }; else alive() { postfix -c "$C" status > /dev/null 2>&1; }; fi
    alive || rollback "Postfix stopped after the reload (see the mail log, e.g. a port already in use); the previous configuration was restored"
  else
    postfix -c "$C" start > "$D/reload.out" 2>&1 || rollback "postfix start failed: $(head -c 1000 "$D/reload.out" | tr '\n' ' ')"
    say "ran${TAB}postfix start"
    sleep 0.3
    postfix -c "$C" status > /dev/null 2>&1 || rollback "Postfix stopped right after starting (see the mail log); the previous configuration was restored"
  fi
}
