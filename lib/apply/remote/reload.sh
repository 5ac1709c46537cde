# cdktf-postfix remote transaction: reload (or start) Postfix and wait until the new configuration
# runs (sourced by transaction.sh).
#
# The reload barrier needs no log. master(8) handles SIGHUP in its event loop: it re-reads main.cf
# and master.cf and restarts every service, and restarting a service replaces the channel its
# children report status on (master_restart_service: master_status_cleanup, then
# master_status_init; a new service gets a new channel, a removed one loses its own). Those
# channels are pipes or connected unix sockets held by master, so master's descriptors, read in
# /proc/PID/fd, show a reload at work. Listening sockets stay across a reload and are left out.
#   1. Before `postfix reload`, note master's channels (C0).
#   2. After it, wait until channels of C0 are gone and new ones are there: the first reload is
#      under way. Call the new channels seen at that moment C1.
#   3. Send a second SIGHUP and wait until every channel of C1 is gone. Only a second refresh
#      replaces channels the first one made, and master is single-threaded, so the first refresh
#      has finished (new listeners bound, a bind failure already fatal) when that happens.
# Then master must still be alive. Without /proc (never on Linux) or a pid file: wait a second.

master_pid() {
  [ -n "${QUEUE_DIR:-}" ] || QUEUE_DIR=$(postconf -c "$C" -h queue_directory 2>/dev/null)
  PID=""
  [ -n "$QUEUE_DIR" ] && [ -f "$QUEUE_DIR/pid/master.pid" ] && read -r PID < "$QUEUE_DIR/pid/master.pid"
}
# Is Postfix running? What `postfix status` decides (master's pid file names a live master), without
# starting postfix(1) and postfix-script (about 0.1 s of CPU). No pid file or no /proc: ask postfix.
master_running() {
  master_pid
  if [ -z "$PID" ] || [ ! -r "/proc/$PID/comm" ]; then postfix -c "$C" status > /dev/null 2>&1; return; fi
  comm=""; read -r comm < "/proc/$PID/comm" 2>/dev/null
  [ "$comm" = master ]
}
# master's channels to its children, "pipe:[INODE]" or "socket:[INODE]" one a line: its pipes and
# its unix sockets in state 03 (connected) in /proc/net/unix.
master_channels() {
  find "/proc/$1/fd" \( -lname 'pipe:*' -o -lname 'socket:*' \) -printf '%l\n' 2>/dev/null |
    awk 'FILENAME == "/proc/net/unix" { if ($6 == "03") connected["socket:[" $7 "]"] = 1; next } /^pipe:/ || ($0 in connected)' /proc/net/unix -
}

# Alive and not exiting: a process that is closing its files or a zombie still answers kill -0.
master_alive() {
  kill -0 "$1" 2>/dev/null || return 1
  [ -r "/proc/$1/stat" ] || return 0
  st=""; read -r st < "/proc/$1/stat" 2>/dev/null || return 1
  st=${st##*) }; st=${st%% *}
  case "$st" in Z|X|x) return 1 ;; esac
  master_channels "$1" | grep -q .
}

# One look at master's channels against the set in $3, in one find and one awk (a poll runs every
# 25 ms while master restarts its services, so processes per poll count). Prints "none" (master
# holds no channel: it is exiting), "next" (phase 1: channels of $3 are gone and new ones are there,
# written to $D/channels.1), "done" (phase 2: every channel of $3 is gone) or "wait".
ack_probe() {
  find "/proc/$1/fd" \( -lname 'pipe:*' -o -lname 'socket:*' \) -printf '%l\n' 2>/dev/null |
    awk -v phase="$2" -v next_set="$D/channels.1" '
      FILENAME == "/proc/net/unix" { if ($6 == "03") connected["socket:[" $7 "]"] = 1; next }
      FILENAME == ARGV[2] { old[$0] = 1; next }
      /^pipe:/ || ($0 in connected) { now[$0] = 1; n++ }
      END {
        if (!n) { print "none"; exit }
        if (phase == 1) {
          for (k in old) if (!(k in now)) gone = 1
          if (!gone) { print "wait"; exit }
          for (k in now) if (!(k in old)) { print k > next_set; fresh = 1 }
          print (fresh ? "next" : "wait"); exit
        }
        for (k in now) if (k in old) { print "wait"; exit }
        print "done"
      }' /proc/net/unix "$3" -
}

wait_for_reload_ack() {
  pid=$1 i=0 phase=1
  if [ -z "$pid" ] || [ ! -s "$D/channels.0" ]; then sleep 1; return 0; fi
  # About 10 seconds: a loaded host can take a while to restart every service. Polls every 20 ms at
  # first, then every 50 and 100 ms: a slow restart costs a few polls, not hundreds.
  while [ "$i" -lt 110 ]; do
    kill -0 "$pid" 2>/dev/null || return 0
    if [ "$phase" = 1 ]; then old="$D/channels.0"; else old="$D/channels.1"; fi
    ack_probe "$pid" "$phase" "$old" > "$D/ack.state"
    st=""; read -r st < "$D/ack.state"
    case "$st" in
      # master always holds its own pipes: none left means it is exiting (a bind failure is fatal).
      none) return 0 ;;
      next) kill -HUP "$pid" 2>/dev/null; phase=2 ;;
      done) step ack; return 0 ;;
    esac
    case "$i" in [0-4]) sleep 0.02 ;; [5-9]) sleep 0.05 ;; *) sleep 0.1 ;; esac
    i=$((i + 1))
  done
  return 1
}

reload_or_start() {
  if [ "$ACTION" = destroy ] && [ "$WAS_RUNNING" = no ]; then :
  elif [ "$WAS_RUNNING" = yes ]; then
    master_pid
    : > "$D/channels.0"; [ -n "$PID" ] && master_channels "$PID" > "$D/channels.0"
    postfix -c "$C" reload > "$D/reload.out" 2>&1 || rollback "postfix reload failed: $(head -c 1000 "$D/reload.out" | tr '\n' ' ')"
    say "ran${TAB}postfix reload"
    wait_for_reload_ack "$PID" || rollback "master did not finish re-reading its configuration within 10 seconds; the previous configuration was restored"
    if [ -n "$PID" ]; then alive() { master_alive "$PID"; }; else alive() { postfix -c "$C" status > /dev/null 2>&1; }; fi
    alive || rollback "Postfix stopped after the reload (see the mail log, e.g. a port already in use); the previous configuration was restored"
  else
    postfix -c "$C" start > "$D/reload.out" 2>&1 || rollback "postfix start failed: $(head -c 1000 "$D/reload.out" | tr '\n' ' ')"
    say "ran${TAB}postfix start"
    sleep 0.3
    postfix -c "$C" status > /dev/null 2>&1 || rollback "Postfix stopped right after starting (see the mail log); the previous configuration was restored"
  fi
}
