# cdktf-postfix remote transaction: reload (or start) Postfix and wait until the new configuration
# runs (sourced by transaction.sh).
#
# The reload barrier needs no log. master(8) handles SIGHUP in its event loop: it re-reads main.cf
# and master.cf and restarts every service, and restarting a service replaces the channel its
# children report status on (master_restart_service: master_status_cleanup, then
# master_status_init; a new service gets a new channel, a removed one loses its own). Those
# channels are pipes or connected unix sockets held by master, so master's descriptors, read in
# /proc/PID/fd, show a reload at work. Listening sockets stay across a reload and are left out.
# master is single-threaded and does the whole refresh between two waits of its event loop.
#   1. Before the reload, note master's channels (A0: its pipes, and the unix sockets
#      /proc/net/unix lists as connected; one awk, once per reload).
#   2. Send one SIGHUP (what `postfix reload` sends: postfix-script's reload is `kill -HUP` of the
#      pid in master.pid, after queue housekeeping that only a changed queue layout needs, see
#      below), and wait until channels of A0 are gone and new descriptors there (two or more of
#      each; a wakeup trigger of master's comes and goes alone): the refresh has begun.
#   3. Wait until master sleeps in a system call on its own eventpoll descriptor (epoll_wait;
#      /proc/PID/syscall names a sleeping task's call and its arguments): back in its event loop,
#      so the refresh has finished (new listeners bound, a bind failure already fatal).
# Then master must still be alive. A look is one find(1) and shell builtins.
# Where /proc/PID/syscall cannot be read, or master holds no eventpoll descriptor (another event
# mechanism), step 3 is a second SIGHUP instead, and a wait until every channel the first refresh
# made is gone: only a second refresh replaces them. One SIGHUP is the rule because a second one
# right after the first restarts services the first had just started, and SMTP clients connecting
# then sometimes waited about a second for their greeting (measured on a lab host, connections back
# to back during the barrier: with two SIGHUPs, the longest wait over 1 s in 3 of 8 trials; with
# one, at most 0.16 s in 27).
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
# master's pipes and sockets, one "pipe:[INODE]" or "socket:[INODE]" a line, into $FDS (empty: it
# holds none, it is exiting), and the number of its eventpoll descriptor into $EPFD (empty: none).
master_fds() {
  FDS=$(find "/proc/$1/fd" \( -lname 'pipe:*' -o -lname 'socket:*' \) -printf '%l\n' -o -lname 'anon_inode:?eventpoll?' -printf 'eventpoll:%f\n' 2>/dev/null)
  EPFD=""
  case "$FDS" in *eventpoll:*)
    rest=${FDS#*eventpoll:}; EPFD=${rest%%[!0-9]*}
    case "$rest" in *"
"*) rest=${rest#*"
"} ;; *) rest="" ;; esac
    FDS=${FDS%%eventpoll:*}$rest ;;
  esac
}
# Of the descriptors in $1 (one a line), the channels: pipes, and unix sockets in state 03
# (connected) in /proc/net/unix. Into $CHANNELS.
channels_of() {
  CHANNELS=$(printf '%s\n' "$1" | awk 'FILENAME == "/proc/net/unix" { if ($6 == "03") connected["socket:[" $7 "]"] = 1; next } /^pipe:/ || ($0 in connected)' /proc/net/unix - 2>/dev/null)
}

# Is master asleep in its event loop: a system call on its eventpoll descriptor $2 (epoll_wait, or
# epoll_pwait; epoll_ctl never sleeps)? /proc/PID/syscall reads "running" while it runs.
master_idle() {
  want=$2 sc=""
  read -r sc 2>/dev/null < "/proc/$1/syscall" || return 1
  set -- $sc
  [ "$#" -ge 2 ] || return 1
  case "$1" in ''|*[!0-9]*) return 1 ;; esac
  # The first argument in hex: a descriptor, so a few digits (longer is a pointer, not a match).
  case "$2" in 0x*) ;; *) return 1 ;; esac
  case "${2#0x}" in ''|*[!0-9a-f]*|?????????*) return 1 ;; esac
  [ "$(($2))" = "$want" ]
}

# Does the idle look work for master $1 (its descriptors just read by master_fds)? It needs an
# eventpoll descriptor and a readable system call ("running", or a number and arguments); else the
# barrier falls back to a second SIGHUP.
idle_look_works() {
  sc=""
  [ -n "$EPFD" ] && read -r sc 2>/dev/null < "/proc/$1/syscall" || return 1
  case "$sc" in running|[0-9]*) return 0 ;; esac
  return 1
}

# Alive and not exiting: a process that is closing its files or a zombie still answers kill -0.
# $2: its descriptors seen a moment ago (else they are looked at now).
master_alive() {
  kill -0 "$1" 2>/dev/null || return 1
  [ -r "/proc/$1/stat" ] || return 0
  st=""; read -r st < "/proc/$1/stat" 2>/dev/null || return 1
  st=${st##*) }; st=${st%% *}
  case "$st" in Z|X|x) return 1 ;; esac
  [ -n "$2" ] || { master_fds "$1"; channels_of "$FDS"; [ -n "$CHANNELS" ]; }
}

# One look at master. Phase 1 ($2 = 1): two or more channels of $OLD gone and two or more
# descriptors not in $OLD_ALL there, the refresh has begun (it replaces every service's channel; one
# of master's short-lived wakeup triggers coming and going is one of each); then, where the idle
# look works, is master asleep in its event loop? Phase idle: that look alone. Phase 2 (no idle
# look here): every channel of $OLD gone (no globbing: "socket:[N]" is a pattern). Sets ACK to
# "none" (master holds no pipe or socket, or is a zombie: it is exiting), "begun" (the refresh
# runs), "next" (it runs, the channels it made in $FRESH for a second SIGHUP), "done" or "wait".
ack_probe() {
  set -f
  ack_look "$@"
  set +f
}
ack_look() {
  ACK=wait
  if [ "$2" = idle ]; then
    if master_idle "$1" "$EPFD"; then ACK=done; elif ! master_alive "$1" alive; then ACK=none; fi
    return 0
  fi
  master_fds "$1"
  [ -n "$FDS" ] || { ACK=none; return; }
  if [ "$2" = 1 ]; then
    gone=0 fresh=0 new=""
    for p in $OLD; do listed "$p" "$FDS" || gone=$((gone + 1)); done
    [ "$gone" -ge 2 ] || return 0
    for p in $FDS; do listed "$p" "$OLD_ALL" || { fresh=$((fresh + 1)); new="$new${new:+
}$p"; }; done
    [ "$fresh" -ge 2 ] || return 0
    if [ "$IDLE_LOOK" = yes ]; then
      # The descriptors were read before the system call: asleep now means after the refresh.
      if master_idle "$1" "$EPFD"; then ACK=done; else ACK=begun; fi
      return 0
    fi
    channels_of "$new"; FRESH=$CHANNELS
    [ -z "$FRESH" ] || ACK=next
  else
    for p in $OLD; do listed "$p" "$FDS" && return 0; done
    ACK=done
  fi
}

wait_for_reload_ack() {
  pid=$1 i=0 phase=1
  if [ -z "$pid" ] || [ -z "$OLD" ]; then sleep 1; return 0; fi
  # About 10 seconds: a loaded host can take a while to restart every service. Looks at once, then
  # every 20 ms at first, then every 50 and 100 ms: a slow restart costs a few polls, not hundreds.
  while [ "$i" -lt 110 ]; do
    kill -0 "$pid" 2>/dev/null || return 0
    ack_probe "$pid" "$phase"
    case "$ACK" in
      # master always holds its own pipes: none left means it is exiting (a bind failure is fatal).
      none) return 0 ;;
      begun) phase=idle; continue ;;
      next) OLD=$FRESH; kill -HUP "$pid" 2>/dev/null; phase=2 ;;
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
    OLD="" OLD_ALL="" FDS="" EPFD=""; [ -n "$PID" ] && { master_fds "$PID"; OLD_ALL=$FDS; channels_of "$FDS"; OLD=$CHANNELS; }
    IDLE_LOOK=no; [ -n "$PID" ] && idle_look_works "$PID" && IDLE_LOOK=yes
    if [ -n "$PID" ] && [ -n "$OLD" ] && ! needs_full_check; then
      kill -HUP "$PID" 2>/dev/null || rollback "postfix reload failed: master (pid $PID) did not take SIGHUP"
    else
      postfix -c "$C" reload > "$D/reload.out" 2>&1 || rollback "postfix reload failed: $(head -c 1000 "$D/reload.out" | tr '\n' ' ')"
    fi
    say "ran${TAB}postfix reload"
    wait_for_reload_ack "$PID" || rollback "master did not finish re-reading its configuration within 10 seconds; the previous configuration was restored"
    # After "done" master held its channels a moment ago ($FDS); only liveness is left to look at.
    if [ -n "$PID" ]; then
      master_alive "$PID" "$FDS"
    else postfix -c "$C" status > /dev/null 2>&1; fi || rollback "Postfix stopped after the reload (see the mail log, e.g. a port already in use); the previous configuration was restored"
  else
    postfix -c "$C" start > "$D/reload.out" 2>&1 || rollback "postfix start failed: $(head -c 1000 "$D/reload.out" | tr '\n' ' ')"
    say "ran${TAB}postfix start"
    sleep 0.3
    postfix -c "$C" status > /dev/null 2>&1 || rollback "Postfix stopped right after starting (see the mail log); the previous configuration was restored"
  fi
}
