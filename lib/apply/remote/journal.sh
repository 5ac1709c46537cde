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
  rm -rf "$J"
  umask 077; mkdir -p "$J/backup" || rollback "cannot create $J"; umask 022
  # The staging directory of this run: a SIGKILL skips its EXIT trap, so recovery removes it.
  printf '%s\n' "$D" > "$J/stage_dir" && : > "$J/staged" || rollback "cannot write the journal $J (is the filesystem full?)"
  : > "$D/renames"
  JOURNALING=yes
}
# A path about to be written as a staging copy: listed first, so an uncommitted run's leftovers
# can be removed; anything already there goes (cp would write through a symbolic link).
stage_path() {
  if [ "$JOURNALING" = yes ]; then printf '%s\n' "$1" >> "$J/staged" || rollback "cannot write the journal $J (is the filesystem full?)"; fi
  rm -f "$1"
  unsafe_path "$1" && rollback "cannot use $1: it is not a regular file"
  return 0
}
# Rename SRC over DST: at once outside a transaction, through the journal inside one.
put() {
  if [ "$JOURNALING" = yes ]; then printf '%s\t%s\n' "$1" "$2" >> "$D/renames"; else mv -f "$1" "$2"; fi
}
drop() {
  if [ "$JOURNALING" = yes ]; then printf -- '-\t%s\n' "$1" >> "$D/renames"; else rm -f "$1"; fi
}
# DST changed in place by a hook (its own atomic rename): backed up, never renamed here.
hooked() { printf '+\t%s\n' "$1" >> "$D/renames"; }

journal_commit() {
  : > "$J/journal.new"
  set --
  n=0
  while IFS="$TAB" read -r src dst; do
    n=$((n + 1))
    st=absent
    unsafe_path "$dst" && rollback "refusing $dst: it is a symbolic link or not a regular file (nothing was changed); replace it with a regular file"
    if [ -f "$dst" ]; then
      cp -p "$dst" "$J/backup/$n" && cmp -s "$dst" "$J/backup/$n" || rollback "cannot back up $dst to $J/backup/$n (is the filesystem full?)"
      st=present; set -- "$@" "$J/backup/$n"
    fi
    sha=-
    case "$src" in -|+) ;; *)
      sha=$(sha256sum < "$src") || rollback "cannot read $src"; sha=${sha%% *}; set -- "$@" "$src" ;;
    esac
    printf '%s\t%s\t%s\t%s\t%s\n' "$n" "$src" "$dst" "$sha" "$st" >> "$J/journal.new" || rollback "cannot write the journal $J (is the filesystem full?)"
  done < "$D/renames"
  printf '%s\n' "$WAS_RUNNING" > "$J/running" || rollback "cannot write the journal $J"
  : > "$J/done"
  sync_paths "$@" "$J/journal.new" "$J/running" "$J/backup" $(journal_dirs) || rollback "cannot sync the staged files"
  mv -f "$J/journal.new" "$J/journal" || rollback "cannot commit the journal $J"
  sync_paths "$J"
}
# The directories of every target, once each, for fsync after renames.
journal_dirs() {
  if [ -f "$J/journal" ]; then cut -f3 "$J/journal"; else cut -f2 "$D/renames"; fi | sed 's,/[^/]*$,,' | sort -u | while read -r dir; do [ -d "$dir" ] && printf '%s\n' "$dir"; done
  printf '%s\n' "$S"
}

# Finish every rename of a committed journal, in order: managed files, then the hooks (live only:
# they run where their entries start, after the files they read are in place), then main.cf,
# master.cf and the managed record. $1 = live: stop at the first failure with a rollback; recover:
# report failure by status. The lab's fault points kill it after the first rename and after hooks.
journal_apply() {
  first=yes
  while IFS="$TAB" read -r n src dst sha st; do
    [ "$1" = recover ] && grep -qx "$n" "$J/done" && continue
    case "$src" in
      +) if [ "$1" = live ] && [ "$HOOKS_RAN" = no ]; then HOOKS_RAN=yes; run_hooks < /dev/null; fault_point hooks; fi ;;
      -) rm -f "$dst" || { [ "$1" = live ] && rollback "cannot remove $dst"; return 1; } ;;
      *)
        if [ -f "$src" ]; then
          mv -f "$src" "$dst" || { [ "$1" = live ] && rollback "cannot rename $src to $dst"; return 1; }
        elif [ "$1" = live ]; then rollback "the staged copy $src is gone"
        fi ;;
    esac
    printf '%s\n' "$n" >> "$J/done"
    if [ "$first" = yes ] && [ "$1" = live ]; then first=no; fault_point rename1; fi
  done < "$J/journal"
  sync_paths "$J/done" $(journal_dirs)
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
      rm -f "$dst.cdktf-restore"
      { ln "$J/backup/$n" "$dst.cdktf-restore" 2>/dev/null || cp -p "$J/backup/$n" "$dst.cdktf-restore"; } &&
        mv -f "$dst.cdktf-restore" "$dst" || say "error${TAB}cannot restore $dst from $J/backup/$n"
    else
      rm -f "$dst"
    fi
    case "$src" in -|+) ;; *) rm -f "$src" ;; esac
  done < "$J/journal"
  sync_paths $(journal_dirs)
}
# Staging copies of a run that never committed.
discard_staged() {
  [ -f "$J/staged" ] && while read -r p; do rm -f "$p"; done < "$J/staged"
  rm -rf "$J"
  JOURNALING=no
}
journal_clear() { rm -rf "$J"; JOURNALING=no; }

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
