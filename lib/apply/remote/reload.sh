# cdktf-postfix remote transaction: reload (or start) Postfix and wait until the new configuration
# runs (sourced by transaction.sh).
#
# The reload barrier needs no log. master(8) handles SIGHUP in its event loop: it re-reads main.cf
# and master.cf and restarts every service, and restarting a service replaces the channel its
# children report status on (master_restart_service: master_status_cleanup, then
# master_status_init; a new service gets a new channel, a removed one loses its own). Those
# channels are pipes or connected unix sockets held by master, so master's descriptors, read in
# /proc/PID/fd, show a reload at work. Listening sockets stay across a reload and are left out.
#   1. Before the reload, note master's pipes and sockets (A0).
#   2. Send SIGHUP (what `postfix reload` sends: postfix-script's reload is `kill -HUP` of the pid
#      in master.pid, after queue housekeeping that only a changed queue layout needs, see below),
#      and wait until descriptors of A0 are gone (a refresh closes channels and removed listeners;
#      else only master's short-lived wakeup triggers come and go) and new channels are there: the
#      reload is under way. Call the channels (pipes, and
#      the unix sockets /proc/net/unix lists as connected) among the new descriptors seen at that
#      moment C1.
#   3. Send a second SIGHUP and wait until every channel of C1 is gone. Only a second refresh
#      replaces channels the first one made, and master is single-threaded, so the first refresh
#      has finished (new listeners bound, a bind failure already fatal) when that happens.
# Then master must still be alive. A look is one find(1) piped into one awk (ack_look), which reads
# /proc/net/unix to tell channels from listeners only when there are new descriptors to tell apart.
# When the plan changes the queue layout or owners (needs_full_check in stage.sh), `postfix reload`
# itself runs (postsuper's queue structure check of the active queue first, then of every queue).

master_pid() {
  [ -n "${QUEUE_DIR:-}" ] || QUEUE_DIR=$(postconf -c "$C" -h queue_directory 2>/dev/null)
  PID=""
  [ -n "$QUEUE_DIR" ] && [ -f "$QUEUE_DIR/pid/master.pid" ] && read -r PID < "$QUEUE_DIR/pid/master.pid"
  case "$PID" in *[!0-9]*|0*) PID="" ;; esac
}
# Is Postfix running? What `postfix status` decides (master's pid file names a live master), without
# starting postfix(1) and postfix-script (about 0.1 s of CPU). No pid file or no /proc: ask postfix.
master_running() {
  master_pid
  if [ -z "$PID" ] || [ ! -r "/proc/$PID/comm" ]; then PID=""; postfix -c "$C" status > /dev/null 2>&1; return; fi
  comm=""; read -r comm < "/proc/$PID/comm" 2>/dev/null
  [ "$comm" = master ] || { PID=""; return 1; }
}
# master's pipes and sockets, one "pipe:[INODE]" or "socket:[INODE]" a line (one find).
master_fds() { find "/proc/$1/fd" \( -lname 'pipe:*' -o -lname 'socket:*' \) -printf '%l\n' 2>/dev/null; }

# Alive and not exiting: a process that is closing its files or a zombie still answers kill -0.
# $2 = seen: it held channels a moment ago (else they are looked at now).
master_alive() {
  kill -0 "$1" 2>/dev/null || return 1
  [ -r "/proc/$1/stat" ] || return 0
  st=""; read -r st < "/proc/$1/stat" 2>/dev/null || return 1
  st=${st##*) }; st=${st%% *}
  case "$st" in Z|X|x) return 1 ;; esac
  [ "${2:-}" = seen ] || { ack_look "$1" 0 /dev/null /dev/null; [ "$ACK" = alive ]; }
}

# One look at master's descriptors: one find piped into one awk that compares them with sets noted
# before (files, one descriptor a line), linear in master's descriptors (shell loops over the lists
# were quadratic: 40 to 60 ms of CPU a look at 150 descriptors). $2 = 1: are descriptors of $3 gone
# and new channels there (descriptors not in $4 that are pipes, or unix sockets in state 03,
# connected, in /proc/net/unix, read only then)? They go to $D/ack.fresh. $2 = 2: is every
# descriptor of $3 gone? $2 = 0: does master hold a channel at all ("alive")? Sets ACK to "none"
# (master holds no pipe or socket: it is exiting), "next" (phase 1 seen), "done" (phase 2 seen),
# "alive" or "wait".
ack_look() {
  master_fds "$1" | awk -v phase="$2" -v old="$3" -v oldall="$4" -v fresh="$D/ack.fresh" '
    function connected(   l, f) {
      while ((getline l < "/proc/net/unix") > 0) { split(l, f, " "); if (f[6] == "03") c["socket:[" f[7] "]"] = 1 }
    }
    { n++; seen[$0] = 1 }
    END {
      if (n == 0) { print "none"; exit }
      if (phase == 0) {
        for (p in seen) if (p ~ /^pipe:/) { print "alive"; exit }
        connected(); for (p in seen) if (p in c) { print "alive"; exit }
        print "none"; exit
      }
      no = 0; while ((getline l < old) > 0) if (l != "" && !(l in o)) { o[l] = 1; no++ }
      close(old) # in phase 1 it is also oldall, read again from its start below
      gone = 0; for (p in o) if (!(p in seen)) gone++
      if (phase == 2) { print (gone == no ? "done" : "wait"); exit }
      if (gone == 0) { print "wait"; exit }
      while ((getline l < oldall) > 0) a[l] = 1
      connected(); k = 0
      for (p in seen) if (!(p in a) && (p ~ /^pipe:/ || (p in c))) { print p > fresh; k++ }
      print (k ? "next" : "wait")
    }' > "$D/ack.out" 2>/dev/null
  ACK=wait; read -r ACK < "$D/ack.out" || ACK=wait
}

wait_for_reload_ack() {
  pid=$1 i=0 phase=1 old="$D/ack.old"
  if [ -z "$pid" ] || [ ! -s "$old" ]; then sleep 1; return 0; fi
  # About 10 seconds: a loaded host can take a while to restart every service. Looks at once, then
  # every 20 ms at first, then every 50 and 100 ms: a slow restart costs a few polls, not hundreds.
  while [ "$i" -lt 110 ]; do
    kill -0 "$pid" 2>/dev/null || return 0
    ack_look "$pid" "$phase" "$old" "$D/ack.old"
    case "$ACK" in
      # master always holds its own pipes: none left means it is exiting (a bind failure is fatal).
      none) return 0 ;;
      next) old="$D/ack.fresh"; kill -HUP "$pid" 2>/dev/null; phase=2 ;;
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
    : > "$D/ack.old"; [ -n "$PID" ] && master_fds "$PID" > "$D/ack.old"
    if [ -n "$PID" ] && [ -s "$D/ack.old" ] && ! needs_full_check; then
      kill -HUP "$PID" 2>/dev/null || rollback "postfix reload failed: master (pid $PID) did not take SIGHUP"
    else
      postfix -c "$C" reload > "$D/reload.out" 2>&1 || rollback "postfix reload failed: $(head -c 1000 "$D/reload.out" | tr '\n' ' ')"
    fi
    say "ran${TAB}postfix reload"
    ACK=""
    wait_for_reload_ack "$PID" || rollback "master did not finish re-reading its configuration within 10 seconds; the previous configuration was restored"
    # After "done" master held its channels a moment ago; only liveness is left to look at.
    seen=""; [ "$ACK" = done ] && seen=seen
    if [ -n "$PID" ]; then
      master_alive "$PID" "$seen"
    else postfix -c "$C" status > /dev/null 2>&1; fi || rollback "Postfix stopped after the reload (see the mail log, e.g. a port already in use); the previous configuration was restored"
  else
    postfix -c "$C" start > "$D/reload.out" 2>&1 || rollback "postfix start failed: $(head -c 1000 "$D/reload.out" | tr '\n' ' ')"
    say "ran${TAB}postfix start"
    sleep 0.3
    postfix -c "$C" status > /dev/null 2>&1 || rollback "Postfix stopped right after starting (see the mail log); the previous configuration was restored"
  fi
}
