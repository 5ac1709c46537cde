# cdktf-postfix remote transaction: table types, backup, and the staged configuration validated
# before anything goes live (sourced by transaction.sh). Nothing here changes the live host except
# installing a lookup table package the bundle allows.

ensure_table_types() {
  missing=""
  [ -s "$D/tabletypes" ] || return 0
  # One postconf -m for every type; the list is matched with builtins.
  postconf -m > "$D/maptypes" 2>/dev/null
  have=""; while read -r t; do have="$have $t "; done < "$D/maptypes"
  while read -r type; do
    [ -n "$type" ] || continue
    case "$have" in *" $type "*) ;; *) missing="$missing $type" ;; esac
  done < "$D/tabletypes"
  [ -n "$missing" ] || return 0
  for type in $missing; do
    pkg="postfix-$type"
    if grep -qx -- "$pkg" "$D/packages"; then
      say "ran${TAB}apt-get install -y $pkg"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" > "$D/apt.log" 2>&1 || die_early "apt-get install $pkg failed: $(tail -n 3 "$D/apt.log" | tr '\n' ' ')"
    else
      die_early "the host lacks the $type lookup table type; install the Debian package $pkg (apt-get install $pkg) or allow the apply to install it (installMissingPackages: true)"
    fi
  done
}

# The originals of files managed for the first time go to the managed record (records.sh), copied
# from the live path then: nothing live changes before the swap.
back_up() { :; }

edit_failed() { say "error${TAB}$1"; say "result${TAB}failed"; discard_staged; exit 1; }
run_postconf_batch() {
  # $1: flag, $2: file of arguments, one a line; passed as separate argv entries, never through eval.
  flag=$1 list=$2
  [ -s "$list" ] || return 0
  (
    set --
    while IFS= read -r arg; do set -- "$@" "$arg"; done < "$list"
    postconf -c "$STAGE" "$flag" "$@"
  ) 2> "$D/postconf.err" || edit_failed "postconf $flag failed: $(head -c 2000 "$D/postconf.err" | tr '\n' ' ')"
}

# A copy of the configuration directory's .cf files, edited with postconf as planned, in $STAGE:
# the journal's $J/new (journal_begin ran), on the filesystem of $C, so that the new main.cf and
# master.cf are renamed into place from there and nothing is copied twice. A run killed before the
# journal is committed leaves only $J, which recovery removes.
STAGE=""
stage_config() {
  STAGE="$J/new"
  set --
  for d in dynamicmaps.cf.d postfix-files.d; do [ -d "$C/$d" ] && set -- "$@" "$C/$d"; done
  cp -rp "$C"/*.cf "$@" "$STAGE/"
  : > "$D/edits.set"; : > "$D/edits.del"; : > "$D/edits.mset"; : > "$D/edits.mdel"
  while IFS= read -r line; do
    case "$line" in "e${TAB}"*) printf '%s\n' "${line#e${TAB}}" >> "$D/edits.set" ;; "x${TAB}"*) printf '%s\n' "${line#x${TAB}}" >> "$D/edits.del" ;; esac
  done < "$D/plan.main"
  while IFS= read -r line; do
    case "$line" in "m${TAB}"*) printf '%s\n' "${line#m${TAB}}" >> "$D/edits.mset" ;; "x${TAB}"*) printf '%s\n' "${line#x${TAB}}" >> "$D/edits.mdel" ;; esac
  done < "$D/plan.master"
  run_postconf_batch -e "$D/edits.set"
  run_postconf_batch -X "$D/edits.del"
  run_postconf_batch -M "$D/edits.mset"
  run_postconf_batch -MX "$D/edits.mdel"
  # Postfix commands stall ~2 s on a main.cf younger than 2 s; an mtime in the past avoids it.
  touch -d '10 seconds ago' "$STAGE/main.cf" "$STAGE/master.cf"
}

# postconf warns about unused parameters (typos) in main.cf and in master.cf's -o options, and dies
# on a master.cf line with a bad field count, whatever it is asked to show, and still exits 0 after
# a warning: any warning fails the apply. One call, which also prints the staged values this
# transaction needs (queue_directory for master's pid file, maillog_file for the postlog rule).
validate_staged() {
  postconf -c "$STAGE" -h queue_directory maillog_file > "$D/staged.values" 2> "$D/validate.err"
  if [ -s "$D/validate.err" ] && grep -q 'warning:\|fatal:\|error:' "$D/validate.err"; then
    edit_failed "the new configuration does not validate (nothing was changed on the host): $(grep 'warning:\|fatal:\|error:' "$D/validate.err" | sort -u | head -c 2000 | tr '\n' ' ')"
  fi
  { read -r staged_queue_dir; read -r staged_maillog_file; } < "$D/staged.values" || :
  # master's pid file is in the live queue directory: the staged one, unless the plan changes it.
  grep_plan_main queue_directory || QUEUE_DIR=$staged_queue_dir
  step postconf
  postfix_check
}
# Does the master.cf plan set or delete the postlog/unix-dgram service? (builtins only)
plan_edits_postlog() {
  while IFS= read -r line; do
    case "$line" in "m${TAB}postlog/unix-dgram="*|"x${TAB}postlog/unix-dgram") return 0 ;; esac
  done < "$D/plan.master"
  return 1
}
# Does the main.cf plan set or delete parameter $1? (builtins only)
grep_plan_main() {
  while IFS= read -r line; do
    case "$line" in "e${TAB}$1="*|"x${TAB}$1") return 0 ;; esac
  done < "$D/plan.main"
  return 1
}

# `postfix check` is postfix(1)'s own validation of every main.cf value (mail_params_init: a bad
# number, boolean, user or queue directory is fatal there), then postfix-script's check-fatal
# (post-install create-missing, which creates missing queue directories, the postlog rule, and a
# postsuper scan of the whole queue: about 1 s of CPU on an idle host, more with a large queue) and
# check-warn (ownership and permission warnings, which never fail it). The housekeeping depends only
# on the directories and owners (postconf(5) *_directory, mail_owner, setgid_group, the queue
# hashing) and on the postlog service (maillog_file needs postlog/unix-dgram in master.cf). When the
# plan changes none of those, the same validation runs as postfix(1) alone (postfix-script runs
# /bin/true: its "/*" command) and the postlog rule is checked here with postconf, as postfix-script does;
# otherwise, or with a postfix-script that lacks that command, the full `postfix check` runs.
needs_full_check() {
  while IFS= read -r line; do
    case "$line" in "e${TAB}"*|"x${TAB}"*)
      n=${line#??}; n=${n%%=*}
      case "$n" in *_directory|mail_owner|setgid_group|hash_queue_names|hash_queue_depth|import_environment|export_environment) return 0 ;; esac ;;
    esac
  done < "$D/plan.main"
  return 1
}
run_postfix_stage() {
  if [ "${2:-}" = tty ] && command -v script >/dev/null 2>&1; then
    # postfix writes its errors to stderr only on a terminal: give it one. The path (under the
    # configuration directory, from the bundle) reaches script's shell in the environment, never
    # in the command text.
    stage_dir=$STAGE stage_check=$1 script -qec 'postfix -c "$stage_dir" "$stage_check"' /dev/null > "$D/check.out" 2>&1 < /dev/null
  else
    postfix -c "$STAGE" "$1" > "$D/check.out" 2>&1 < /dev/null
  fi
}
postfix_check() {
  check=check
  if ! needs_full_check; then
    # check-fatal's postlog rule, as postfix-script words it: maillog_file needs postlog/unix-dgram.
    # Only a plan that sets maillog_file or edits that service can break it.
    if [ -n "$staged_maillog_file" ] && { grep_plan_main maillog_file || plan_edits_postlog; } &&
      [ -z "$(postconf -c "$STAGE" -M postlog/unix-dgram 2>/dev/null)" ]; then
      edit_failed "postfix check failed on the new configuration (nothing was changed on the host): maillog_file is set and master.cf has no postlog unix-dgram service (postfix upgrade-configuration adds it)"
    fi
    check=/bin/true
  fi
  # The parameters alone: postmap(1) validates them as postfix(1) does (mail_params_init: numbers,
  # booleans, users and groups, myhostname, inet_protocols, ...; only postfix(1)'s chdir to the
  # queue directory is not there, and a changed *_directory takes the full check), in one process
  # instead of postfix, postfix-script and its three commands. A failure, or a postmap without the
  # inline: table type (Postfix < 3.0), runs postfix(1) itself for the verdict and its words.
  if [ "$check" != check ] && postmap -c "$STAGE" -q cdktf-postfix 'inline:{cdktf-postfix=ok}' > /dev/null 2> "$D/check.out"; then
    say "ran${TAB}postfix check (parameters)"; return 0
  fi
  # Without a terminal postfix(1) logs its errors instead of printing them: on a failure it runs
  # again under script(1), for the words to report (a failure costs the second run, success not).
  run_postfix_stage "$check"; check_rc=$?
  [ "$check_rc" -eq 0 ] || { run_postfix_stage "$check" tty; check_rc=$?; }
  if [ "$check_rc" -ne 0 ] && [ "$check" != check ] && grep -q 'unknown command' "$D/check.out"; then
    check=check; run_postfix_stage check tty; check_rc=$?
  fi
  [ "$check_rc" -eq 0 ] || edit_failed "postfix check failed on the new configuration (nothing was changed on the host): $(tr -d '\r' < "$D/check.out" | head -c 2000 | tr '\n' ' ')"
  if [ "$check" = check ]; then say "ran${TAB}postfix check"; else say "ran${TAB}postfix check (parameters)"; fi
}
