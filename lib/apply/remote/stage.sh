# cdktf-postfix remote transaction: table types, backup, and the staged configuration validated
# before anything goes live (sourced by transaction.sh). Nothing here changes the live host except
# installing a lookup table package the bundle allows.

ensure_table_types() {
  missing=""
  while read -r type; do
    [ -n "$type" ] || continue
    postconf -m | grep -qx -- "$type" || missing="$missing $type"
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

backup_path() {
  id=$(path_id "$1")
  [ -f "$1" ] && cp -p "$1" "$D/backup/files/$id"
  for s in .db .lmdb .cdb; do [ -f "$1$s" ] && cp -p "$1$s" "$D/backup/files/$id$s"; done
  return 0
}
back_up() {
  mkdir -p "$D/backup/files" "$D/stage"
  cp -p "$C/main.cf" "$D/backup/main.cf" || die_early "cannot back up $C/main.cf"
  cp -p "$C/master.cf" "$D/backup/master.cf" || die_early "cannot back up $C/master.cf"
  while IFS="$TAB" read -r op path rest; do backup_path "$path"; done < "$D/plan.files"
  while IFS="$TAB" read -r kind path rest; do backup_path "$path"; done < "$D/plan.hooks"
}

edit_failed() { say "error${TAB}$1"; say "result${TAB}failed"; rm -rf "$D/stage"; exit 1; }
run_postconf_batch() {
  # $1: flag, $2: file of arguments, one a line; passed as separate argv entries, never through eval.
  flag=$1 list=$2
  [ -s "$list" ] || return 0
  (
    set --
    while IFS= read -r arg; do set -- "$@" "$arg"; done < "$list"
    postconf -c "$D/stage" "$flag" "$@"
  ) 2> "$D/postconf.err" || edit_failed "postconf $flag failed: $(head -c 2000 "$D/postconf.err" | tr '\n' ' ')"
}

# A copy of the configuration directory's .cf files, edited with postconf as planned.
stage_config() {
  set --
  for d in dynamicmaps.cf.d postfix-files.d; do [ -d "$C/$d" ] && set -- "$@" "$C/$d"; done
  cp -rp "$C"/*.cf "$@" "$D/stage/"
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
  touch -d '10 seconds ago' "$D/stage/main.cf" "$D/stage/master.cf"
}

# postconf warns about unused parameters (typos) and still exits 0: any warning fails the apply.
validate_staged() {
  postconf -c "$D/stage" -n > "$D/staged.main" 2> "$D/validate.err"
  postconf -c "$D/stage" -M > "$D/staged.master" 2>> "$D/validate.err"
  if [ -s "$D/validate.err" ] && grep -q 'warning:\|fatal:\|error:' "$D/validate.err"; then
    edit_failed "the new configuration does not validate (nothing was changed on the host): $(grep 'warning:\|fatal:\|error:' "$D/validate.err" | sort -u | head -c 2000 | tr '\n' ' ')"
  fi
  step postconf
  postfix_check
}

# `postfix check` is postfix(1)'s own validation of every main.cf value (mail_params_init: a bad
# number, boolean, user or queue directory is fatal there), then postfix-script's check-fatal
# (post-install create-missing, which creates missing queue directories, the postlog rule, and a
# postsuper scan of the whole queue: about 1 s of CPU on an idle host, more with a large queue) and
# check-warn (ownership and permission warnings, which never fail it). The housekeeping depends only
# on the directories and owners (postconf(5) *_directory, mail_owner, setgid_group, the queue
# hashing) and on the postlog service (maillog_file needs postlog/unix-dgram in master.cf). When the
# plan changes none of those, the same validation runs as postfix(1) alone (postfix-script runs
# /bin/true: its "/*" command) and the postlog rule is checked here on the staged postconf output;
# otherwise, or with a postfix-script that lacks that command, the full `postfix check` runs.
needs_full_check() {
  grep -Eq "^[ex]${TAB}([a-z_]*_directory|mail_owner|setgid_group|hash_queue_names|hash_queue_depth|import_environment|export_environment)(=|\$)" "$D/plan.main"
}
run_postfix_stage() {
  if command -v script >/dev/null 2>&1; then
    # postfix writes its errors to stderr only on a terminal: give it one.
    script -qec "postfix -c '$D/stage' $1" /dev/null > "$D/check.out" 2>&1 < /dev/null
  else
    postfix -c "$D/stage" "$1" > "$D/check.out" 2>&1
  fi
}
postfix_check() {
  check=check
  if ! needs_full_check; then
    while IFS= read -r line; do
      case "$line" in "maillog_file = "?*)
        grep -q '^postlog[[:space:]][[:space:]]*unix-dgram[[:space:]]' "$D/staged.master" || edit_failed "postfix check failed on the new configuration (nothing was changed on the host): maillog_file is set and master.cf has no postlog unix-dgram service (postfix upgrade-configuration adds it)" ;;
      esac
    done < "$D/staged.main"
    check=/bin/true
  fi
  run_postfix_stage "$check"; check_rc=$?
  if [ "$check_rc" -ne 0 ] && [ "$check" != check ] && grep -q 'unknown command' "$D/check.out"; then
    check=check; run_postfix_stage check; check_rc=$?
  fi
  [ "$check_rc" -eq 0 ] || edit_failed "postfix check failed on the new configuration (nothing was changed on the host): $(tr -d '\r' < "$D/check.out" | head -c 2000 | tr '\n' ' ')"
  if [ "$check" = check ]; then say "ran${TAB}postfix check"; else say "ran${TAB}postfix check (parameters)"; fi
}
