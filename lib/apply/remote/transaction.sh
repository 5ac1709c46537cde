# cdktf-postfix remote transaction (POSIX sh, run as root by the runner over SSH).
#
#   . transaction.sh   with $1 = STAGE_DIR, sourced by entry.sh (it uses entry.sh's fingerprint_of)
#
# Everything it acts on is data in STAGE_DIR, written by the runner and unpacked from one tar
# stream: nothing in there is ever evaluated as shell code. Files (one record a line, TAB-separated):
#   action              apply | check | destroy | status
#   config_directory    e.g. /etc/postfix
#   bundle_sha256       hash of the desired state
#   main.set            name=value          main.cf parameters to set
#   main.remove         name                main.cf parameters to delete
#   master.set          service/type=entry  master.cf entries
#   master.remove       service/type        master.cf entries to delete
#   files.list          path mode owner group sha256 postmap secret  (postmap "-" when none, TYPE for
#                       postmap, postalias:TYPE for an aliases(5) file; secret yes|no)
#   payload/SHA256      file contents, only those the host lacks
#   tabletypes          lookup table types the host must support
#   packages            Debian packages that may be installed for missing table types
#   hooks.list          kind path bits generation (kinds: dhparam-generate, dkim-keygen, service-restart)
#   file_roots          directories (or exact paths) files may be written to: config directory first
#   fault               lab-only fault injection "kill-after:STEP" (honoured with a host marker)
#   hold                an apply: stop after the files' plan for the runner's relay check (plan.sh)
#   txn/                the other parts of this program (plan.awk and the *.sh parts, by job)
#
# Output, one event a line on stdout: "changed<TAB>main|master|file<TAB>name", "ran<TAB>cmd",
# "need<TAB>sha256", "step<TAB>name<TAB>ms", "error<TAB>text", and last "result<TAB>unchanged|applied|
# failed|need|removed|status". Exit status: 0 ok, 3 payloads needed or stopped when held, 1 failed
# (host restored). A held apply prints "result<TAB>hold" and reads the runner's answer from stdin
# (after the staging tar): "go" and a framed tar of payloads, or anything else to stop.
#
# Managed record, in CONFIG_DIRECTORY/.cdktf-postfix/ (mode 0700): applied_sha256, main.orig and master.orig
# (name TAB set|unset TAB original value), files.orig (path TAB present|absent), orig/ (original
# files), so that anything removed from code returns to what the host had before; fingerprint and
# fingerprint.paths, what a no-op compares (records.sh, entry.sh).
#
# A no-op apply never gets here: entry.sh answers it from the managed record (fast path) and
# sources this program for everything else. The steps, in order: lock; plan (files, then, an
# apply held for the runner's relay check until it answers with the payloads the host lacks,
# main.cf and master.cf through plan.awk, and hooks); table types; backup; stage and validate; swap
# (files, hooks, main.cf and master.cf, and the managed record, all through the journal: journal.sh);
# reload barrier. A failure after the journal was committed rolls back; a transaction killed
# midway is finished or undone by the next one, right after the lock.

set -u
umask 022
trap '' HUP PIPE
D=$1
R="$D/txn"
# The staging directory holds only this run's input; it goes when the transaction ends.
CLEAR_AT_EXIT=""
trap 'rm -rf "$D" "${CLEAR_AT_EXIT:-$D}"' EXIT
TAB=$(printf '\t')
# Builtins where a subprocess would do: on some kernels (gVisor) each fork costs milliseconds.
read -r ACTION < "$D/action"
read -r C < "$D/config_directory"
WANT_SHA=""; read -r WANT_SHA < "$D/bundle_sha256" || :

. "$R/common.sh"
. "$R/records.sh"

for f in main.set main.remove master.set master.remove files.list tabletypes packages hooks.list; do
  [ -f "$D/$f" ] || : > "$D/$f"
done

[ -f "$C/main.cf" ] || die_early "no Postfix configuration at $C (main.cf missing): install postfix or set configDirectory"
command -v postconf >/dev/null 2>&1 || die_early "postconf not found on the host: install the postfix package"
# The managed record lives beside the configuration it describes (root-owned, mode 0700), so each
# Postfix instance has its own and `postfix check` finds nothing to complain about.
S="$C/.cdktf-postfix"
# Nothing was ever applied here: status, check and destroy read an empty record kept in the staging
# directory, and write nothing under $C.
[ -d "$S" ] || [ "$ACTION" = apply ] || S="$D/record"
umask 077
[ -d "$S/orig" ] || mkdir -p "$S/orig" || die_early "cannot create $S"
umask 022
for f in applied_sha256 main.orig master.orig files.orig; do [ -f "$S/$f" ] || : > "$S/$f"; done

# One transaction per host at a time; the lock is released when this process exits. Opened for
# append, never truncated: a no-op apply must not change any file's size, mtime or ctime under $C.
exec 9>>"$S/lock"
if command -v flock >/dev/null 2>&1; then
  flock -w 600 9 || die_early "another apply holds $S/lock for more than 10 minutes"
fi
step lock

# An earlier transaction that never ended (killed, connection and shell gone, power lost) is
# finished or undone before anything reads the host's state (journal.sh).
. "$R/journal.sh"
. "$R/swap.sh"
recover_interrupted
. "$R/roots.sh"
refuse_outside_roots

. "$R/plan.sh"
read_current_state
if [ "$ACTION" = status ]; then print_status; say "result${TAB}status"; exit 0; fi

# For destroy, the desired state is "nothing": everything managed returns to its original.
if [ "$ACTION" = destroy ]; then
  applied=$(read_first "$S/applied_sha256")
  if [ -n "$WANT_SHA" ] && [ -n "$applied" ] && [ "$applied" != "$WANT_SHA" ]; then
    # A newer apply (create_before_destroy replacement) owns the host now: leave it alone.
    say "result${TAB}unchanged"; exit 0
  fi
  : > "$D/main.set"; : > "$D/main.remove"; : > "$D/master.set"; : > "$D/master.remove"
  : > "$D/files.list"; : > "$D/hooks.list"; WANT_SHA=""
fi

plan_files
# An apply holds here for the runner's relay check (plan.sh) and goes on with the payloads it lacked.
hold_for_relay_check
plan_main_and_master
plan_hooks
step plan

if [ -s "$D/needs" ]; then say "result${TAB}need"; exit 3; fi
if [ "$ACTION" = check ]; then
  if [ -s "$D/plan.main" ] || [ -s "$D/plan.master" ] || [ -s "$D/plan.files" ] || [ -s "$D/plan.hooks" ]; then say "result${TAB}changes"; else say "result${TAB}unchanged"; fi
  exit 0
fi

if plan_is_empty; then
  # Nothing to change on the host. Record bookkeeping only when it differs (first adoption).
  if has_bookkeeping "$D/plan.main" || has_bookkeeping "$D/plan.master" || [ "$(read_first "$S/applied_sha256")" != "$WANT_SHA" ]; then
    finish_records
    remove_gone_dirs
    if [ "$ACTION" = destroy ]; then rm -rf "$S"; say "result${TAB}removed"; else save_fingerprint; say "result${TAB}unchanged"; fi
  else
    [ "$ACTION" = apply ] && save_fingerprint
    say "result${TAB}unchanged"
  fi
  exit 0
fi

. "$R/stage.sh"
. "$R/reload.sh"

ensure_table_types
back_up
step backup
fault_point backup

# The journal's directory first: the configuration is staged and validated in it (stage.sh).
WAS_RUNNING=no
journal_begin
stage_config
validate_staged
step validate
fault_point validate

# ---------------------------------------------------------------- go live (journaled, with rollback)
master_running && WAS_RUNNING=yes
# Every new file beside its target, verified; the managed record too; then the journal committed.
# Renames in order: managed files, the hooks (they run at their entries), main.cf and master.cf,
# the managed record.
stage_files
hook_targets
stage_main_and_master
finish_records
journal_commit
step stage
fault_point stage
journal_apply live
remove_gone_dirs
step swap
fault_point swap

reload_or_start
step reload
fault_point reload

journal_clear_at_exit
if [ "$ACTION" = destroy ]; then rm -rf "$S"; say "result${TAB}removed"; else save_fingerprint; say "result${TAB}applied"; fi
exit 0
