# cdktf-postfix remote transaction: the journal that makes the swap crash-safe (sourced by
# transaction.sh).
#
# Every new file (managed files, their indexes, main.cf, master.cf, the managed record) is first
# written beside its target as a staging copy, verified and fsynced. Then the journal is committed:
# $J/journal lists each intended rename "N TAB SRC TAB DST TAB SHA256 TAB present|absent" (SRC "-":
# delete DST; SRC "+": DST is rewritten in place by a hook), and $J/backup/N holds DST as it was.
# The journal, the staging copies, the backups and their directories are fsynced before the
# rename that commits the journal, and so before the first live path changes. Each rename is then
# marked in $J/done as it completes.
#
# A transaction that never ends (SIGKILL, power loss) is settled by the next connection right after
# the lock, before anything else, by this rule:
#   - no committed journal: nothing live changed; the staging copies listed in $J/staged go;
#   - committed, not being undone, hooks finished, and every rename either still pending with a
#     source whose sha256 is the journaled one, or done (source gone, target with that sha256):
#     roll forward (finish the renames);
#   - otherwise roll back: every target gets its backup (or is removed if it was absent).
# Either way the host's managed files are entirely old or entirely new; then Postfix is reloaded
# (or started, when it was running before the transaction).

J="$S/journal"
JOURNALING=no
HOOKS_RAN=no

# Sync files or directories to disk: one process for many paths (coreutils sync FILE fsyncs each).
sync_paths() { [ "$#" -gt 0 ] || return 0; sync -- "$@" 2>/dev/null || sync; }

journal_begin() {
  if [ -e "$J" ]; then rm -rf "$J"; fi
  # $J/new and $J/rec: staged copies of files in $C and in $S, under their own names (same
  # filesystem as their targets: renamed, not copied; journal_apply moves them in one mv each).
  umask 077; mkdir -p "$J/backup" "$J/new" "$J/rec" || rollback "cannot create $J"; umask 022
  # The staging directory of this run: a SIGKILL skips its EXIT trap, so recovery removes it.
  printf '%s\n' "$D" > "$J/stage_dir" && : > "$J/staged" || rollback "cannot write the journal $J (is the filesystem full?)"
  : > "$D/renames"
  JOURNALING=yes
}
# Paths about to be written as staging copies: listed first, so an uncommitted run's leftovers
# can be removed; anything already there goes (cp would write through a symbolic link). Usually
# nothing is there, and then no process starts.
stage_path() {
  for p in "$@"; do
    if [ "$JOURNALING" = yes ]; then printf '%s\n' "$p" >> "$J/staged" || rollback "cannot write the journal $J (is the filesystem full?)"; fi
    if [ -e "$p" ] || [ -L "$p" ]; then
      rm -f "$p"
      unsafe_path "$p" && rollback "cannot use $p: it is not a regular file"
    fi
  done
  return 0
}
# Where to stage a new copy of target $1, into $NEW: under its own name in $J/new (a file directly
# in $C) or $J/rec (in $S) inside a transaction, else $1 + suffix $2 beside it.
staged_name() {
  NEW="$1$2"
  [ "$JOURNALING" = yes ] || return 0
  dir_of "$1"
  case "${1##*/}" in main.cf|master.cf|*.db|*.lmdb|*.cdb) [ "$DIR" = "$C" ] && return 0 ;; esac
  if [ "$DIR" = "$C" ]; then NEW="$J/new/${1##*/}"; elif [ "$DIR" = "$S" ]; then NEW="$J/rec/${1##*/}"; fi
}
# Rename SRC over DST: at once outside a transaction, through the journal inside one. A third
# argument is what SRC must hold, checked at the commit: a sha256, or a file it must equal.
put() {
  if [ "$JOURNALING" = yes ]; then printf '%s\t%s\t%s\n' "$1" "$2" "${3:--}" >> "$D/renames"; else mv -f "$1" "$2"; fi
}
drop() {
  if [ "$JOURNALING" = yes ]; then printf -- '-\t%s\t-\n' "$1" >> "$D/renames"; else rm -f "$1"; fi
}
# DST changed in place by a hook (its own atomic rename): backed up, never renamed here.
hooked() { printf '+\t%s\t-\n' "$1" >> "$D/renames"; }

# The next line of the one sha256sum pass (fd 4) must be about $1: its hash into $H.
next_sha() {
  IFS= read -r l <&4 || return 1
  H=${l%%  *}
  [ "${l#*  }" = "$1" ]
}
# Where the backup of target $2 (journal entry $1) is: $J/backup + its path (written by one
# cp --parents); entry numbers, $J/backup/N, in journals an earlier version wrote.
backup_of() { if [ -f "$J/backup/$1" ]; then BK="$J/backup/$1"; else BK="$J/backup$2"; fi; }

# Commit: every existing target backed up by one cp -p --parents, then one sha256sum of every
# staged copy, every target and its backup (and the files a staged copy must equal): the backups
# and staged copies are checked and the journal lines written from that one pass; then everything
# fsynced by one sync, the journal renamed into place, its directory fsynced.
journal_commit() {
  : > "$J/journal.new"; : > "$D/jlist"
  n=0
  set --
  while IFS="$TAB" read -r src dst want; do
    n=$((n + 1))
    st=absent
    unsafe_path "$dst" && rollback "refusing $dst: it is a symbolic link or not a regular file (nothing was changed); replace it with a regular file"
    if [ -f "$dst" ]; then st=present; set -- "$@" "${dst#/}"; fi
    printf '%s\t%s\t%s\t%s\t%s\n' "$n" "$src" "$dst" "$st" "$want" >> "$D/jlist"
  done < "$D/renames"
  if [ "$#" -gt 0 ]; then
    # Relative to / (coreutils 9.1's cp --parents -p fails on the directories of absolute names).
    here=$PWD
    cd / && cp -p --parents -- "$@" "$J/backup" 2> "$D/backup.err" && cd "$here" || rollback "cannot back up the files this transaction replaces to $J/backup (is the filesystem full?): $(head -c 500 "$D/backup.err" | tr '\n' ' ')"
  fi
  set --
  while IFS="$TAB" read -r n src dst st want; do
    case "$src" in -|+) ;; *) set -- "$@" "$src" ;; esac
    case "$want" in /*) set -- "$@" "$want" ;; esac
    [ "$st" = present ] && set -- "$@" "$dst" "$J/backup$dst"
  done < "$D/jlist"
  : > "$D/jsha"
  [ "$#" -eq 0 ] || sha256sum -- "$@" > "$D/jsha" 2> "$D/jsha.err" || rollback "cannot read the staged copies or backups: $(head -c 500 "$D/jsha.err" | tr '\n' ' ')"
  set --
  exec 4< "$D/jsha"
  while IFS="$TAB" read -r n src dst st want; do
    sha=-
    case "$src" in -|+) ;; *)
      next_sha "$src" || rollback "cannot read $src"; sha=$H; set -- "$@" "$src"
      case "$want" in
        /*) next_sha "$want" && [ "$H" = "$sha" ] || rollback "cannot write $src (is the filesystem full?): it differs from $want" ;;
        -) ;;
        *) [ "$want" = "$sha" ] || rollback "content of $dst arrived damaged (sha256 $sha, expected $want)" ;;
      esac ;;
    esac
    if [ "$st" = present ]; then
      next_sha "$dst" && got=$H && next_sha "$J/backup$dst" && [ "$H" = "$got" ] || rollback "cannot back up $dst to $J/backup$dst (is the filesystem full?)"
      set -- "$@" "$J/backup$dst"
    fi
    printf '%s\t%s\t%s\t%s\t%s\n' "$n" "$src" "$dst" "$sha" "$st" >> "$J/journal.new" || rollback "cannot write the journal $J (is the filesystem full?)"
  done < "$D/jlist"
  exec 4<&-
  printf '%s\n' "$WAS_RUNNING" > "$J/running" || rollback "cannot write the journal $J"
  : > "$J/done"
  journal_dirs "$D/renames" 2
  set -f
  # shellcheck disable=SC2086 # directories without blanks (checked paths), one a line
  sync_paths "$@" "$J/journal.new" "$J/running" "$J/new" $BACKUP_DIRS $JDIRS || { set +f; rollback "cannot sync the staged files"; }
  set +f
  mv -f "$J/journal.new" "$J/journal" || rollback "cannot commit the journal $J"
  sync_paths "$J"
}
# The directories of every target ($1: a list with the target in field $2), once each, into $JDIRS
# (one a line; $S last), and the directories under $J/backup that hold their backups, up to
# $J/backup itself, into $BACKUP_DIRS. Builtins only.
journal_dirs() {
  JDIRS="" BACKUP_DIRS="$J/backup"
  while IFS="$TAB" read -r f1 f2 f3 rest; do
    if [ "$2" = 3 ]; then dst=$f3; else dst=$f2; fi
    [ -n "$dst" ] || continue
    dir_of "$dst"
    [ -d "$DIR" ] && ! listed "$DIR" "$JDIRS" || continue
    JDIRS="$JDIRS${JDIRS:+
}$DIR"
    a=$DIR
    while [ "$a" != / ] && [ -d "$J/backup$a" ] && ! listed "$J/backup$a" "$BACKUP_DIRS"; do
      BACKUP_DIRS="$BACKUP_DIRS
$J/backup$a"
      dir_of "$a"; a=$DIR
    done
  done < "$1"
  JDIRS="$JDIRS${JDIRS:+
}$S"
}

# Finish every rename of a committed journal, in order: managed files, then the hooks (live only:
# they run where their entries start, after the files they read are in place), then main.cf,
# master.cf and the managed record. $1 = live: stop at the first failure with a rollback; recover:
# report failure by status. The lab's fault points kill it after the first rename and after hooks.
# Live, consecutive renames from one staging directory to one target directory under the same
# name ($J/new/X to $C/X, $J/rec/X to $S/X) go in one mv(1), in journal order; recovery decides by
# content either way (journal_can_finish), so a group cut short is finished or undone like a rename.
journal_apply() {
  mode=$1 first=yes GSRCS="" GNS="" GSRC_DIR="" GDST_DIR=""
  while IFS="$TAB" read -r n src dst sha st; do
    if [ "$mode" = recover ]; then
      grep -qx "$n" "$J/done" && continue
    else
      case "$src" in -|+) ;; *)
        [ -f "$src" ] || rollback "the staged copy $src is gone"
        dir_of "$src"; sdir=$DIR; dir_of "$dst"
        if [ "${src##*/}" = "${dst##*/}" ] && [ "$sdir" != "$DIR" ]; then
          { [ "$sdir" = "$GSRC_DIR" ] && [ "$DIR" = "$GDST_DIR" ]; } || rename_group_flush
          GSRC_DIR=$sdir GDST_DIR=$DIR GSRCS="$GSRCS${GSRCS:+
}$src" GNS="$GNS $n"
          continue
        fi ;;
      esac
      rename_group_flush
    fi
    case "$src" in
      +) if [ "$mode" = live ] && [ "$HOOKS_RAN" = no ]; then HOOKS_RAN=yes; run_hooks < /dev/null; fault_point hooks; fi ;;
      -) rm -f "$dst" || { [ "$mode" = live ] && rollback "cannot remove $dst"; return 1; } ;;
      *)
        if [ -f "$src" ]; then
          mv -f "$src" "$dst" || { [ "$mode" = live ] && rollback "cannot rename $src to $dst"; return 1; }
        elif [ "$mode" = live ]; then rollback "the staged copy $src is gone"
        fi ;;
    esac
    printf '%s\n' "$n" >> "$J/done"
    if [ "$first" = yes ] && [ "$mode" = live ]; then first=no; fault_point rename1; fi
  done < "$J/journal"
  [ "$mode" = recover ] || rename_group_flush
  journal_dirs "$J/journal" 3
  set -f
  # shellcheck disable=SC2086 # directories without blanks (checked paths), one a line
  sync_paths "$J/done" $JDIRS
  set +f
}
# The pending group of journal_apply: one mv of every source into the target directory.
rename_group_flush() {
  [ -n "$GSRCS" ] || return 0
  set -f
  # shellcheck disable=SC2086 # staged paths without blanks (checked paths), one a line
  mv -f -- $GSRCS "$GDST_DIR/" 2> "$D/mv.err"
  rc=$?
  set +f
  [ "$rc" -eq 0 ] || rollback "cannot rename the staged files into $GDST_DIR: $(head -c 500 "$D/mv.err" | tr '\n' ' ')"
  for g in $GNS; do printf '%s\n' "$g" >> "$J/done"; done
  GSRCS="" GNS="" GSRC_DIR="" GDST_DIR=""
  if [ "$first" = yes ]; then first=no; fault_point rename1; fi
}

# Can a committed journal be rolled forward? (See the rule above.)
journal_can_finish() {
  [ -f "$J/undo" ] && return 1
  grep -q '^[0-9]*	+	' "$J/journal" && ! grep -qx hooks "$J/done" && return 1
  while IFS="$TAB" read -r n src dst sha st; do
    case "$src" in -|+) continue ;; esac
    if [ -f "$src" ]; then got=$(sha256sum < "$src"); else got=$(sha256sum < "$dst" 2>/dev/null); fi
    [ "${got%% *}" = "$sha" ] || return 1
  done < "$J/journal"
}
# Put every target back as it was before the transaction. The backup is hard-linked beside its
# target and renamed over it (no space needed on a full filesystem; the backup stays, so an undo
# cut short can run again); copied where the target is on another filesystem.
journal_undo() {
  : > "$J/undo"; sync_paths "$J/undo" "$J"
  while IFS="$TAB" read -r n src dst sha st; do
    if [ "$st" = present ]; then
      backup_of "$n" "$dst"
      rm -f "$dst.cdktf-restore"
      { ln "$BK" "$dst.cdktf-restore" 2>/dev/null || cp -p "$BK" "$dst.cdktf-restore"; } &&
        mv -f "$dst.cdktf-restore" "$dst" || say "error${TAB}cannot restore $dst from $BK"
    else
      rm -f "$dst"
    fi
    case "$src" in -|+) ;; *) rm -f "$src" ;; esac
  done < "$J/journal"
  journal_dirs "$J/journal" 3
  set -f
  # shellcheck disable=SC2086 # directories without blanks (checked paths), one a line
  sync_paths $JDIRS
  set +f
}
# Staging copies of a run that never committed.
discard_staged() {
  [ -f "$J/staged" ] && while read -r p; do rm -f "$p"; done < "$J/staged"
  rm -rf "$J"
  JOURNALING=no
}
journal_clear() { rm -rf "$J"; JOURNALING=no; }
# The transaction went through: the journal goes with the staging directory, in the one rm(1) of
# the EXIT trap (a kill before that leaves a finished journal, which recovery rolls forward).
journal_clear_at_exit() { JOURNALING=no; CLEAR_AT_EXIT=$J; }

# Postfix as it was before the transaction: running (reloaded, or started) or stopped.
restore_postfix_state() {
  if [ "$1" = yes ]; then
    if postfix -c "$C" status > /dev/null 2>&1; then postfix -c "$C" reload > /dev/null 2>&1; else postfix -c "$C" start > /dev/null 2>&1; fi
  else
    postfix -c "$C" status > /dev/null 2>&1 && postfix -c "$C" stop > /dev/null 2>&1
  fi
  return 0
}

# The killed run's staging directory (its payloads may include secrets); never this run's own.
remove_dead_stage() {
  dead=""; [ -f "$J/stage_dir" ] && read -r dead < "$J/stage_dir"
  case "$dead" in /tmp/cdktf-postfix.*) [ "$dead" != "$D" ] && [ ! -L "$dead" ] && rm -rf -- "$dead" ;; esac
  return 0
}

# Run right after the lock, before anything else reads the host's state.
recover_interrupted() {
  [ -d "$J" ] || return 0
  if [ ! -f "$J/journal" ]; then
    remove_dead_stage
    discard_staged
    say "ran${TAB}recovery: an interrupted transaction had changed nothing; its staging copies were removed"
    return 0
  fi
  running=yes; [ -f "$J/running" ] && read -r running < "$J/running"
  remove_dead_stage
  if journal_can_finish && journal_apply recover; then
    say "ran${TAB}recovery: an interrupted transaction was rolled forward"
  else
    journal_undo
    say "ran${TAB}recovery: an interrupted transaction was rolled back"
  fi
  restore_postfix_state "$running"
  journal_clear
  step recover
}

# Lab-only fault injection, never on by default: the runner passes CDKTF_POSTFIX_FAULT as the
# stage's "fault" file, and the host honours it only when the lab has created
# $S/fault-injection-allowed. "kill-after:STEP" SIGKILLs this script right after STEP;
# "pause-after:STEP" creates $S/fault-paused and waits (at most 2 minutes) until the lab removes it,
# so that the lab can cut the connection at that moment.
FAULT=""
if [ -f "$D/fault" ] && [ -f "$S/fault-injection-allowed" ]; then read -r FAULT < "$D/fault" || :; fi
fault_point() {
  case "$FAULT" in
    "kill-after:$1") kill -9 $$ ;;
    "pause-after:$1")
      : > "$S/fault-paused"; i=0
      while [ -f "$S/fault-paused" ] && [ "$i" -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done ;;
  esac
  return 0
}
