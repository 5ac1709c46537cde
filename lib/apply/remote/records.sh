# cdktf-postfix remote transaction: the managed record in $S = CONFIG_DIRECTORY/.cdktf-postfix/
# (sourced by transaction.sh). Inside a transaction its new files are staged and renamed through the
# journal (put/drop in journal.sh) with everything else, so it never disagrees with the host.

# After each apply the host's side of the bargain (main.cf, master.cf, every managed file and index
# and hook output, with mode and owner) is fingerprinted; the bundle hash covers the desired side.
# Same bundle and same fingerprint: nothing to do, decided by entry.sh before anything is staged,
# from fingerprint.paths (the paths, one a line) and fingerprint (fingerprint_of them, entry.sh).
fingerprint_paths() {
  printf '%s\n' "$C/main.cf" "$C/master.cf"
  while IFS="$TAB" read -r path mode owner group sha postmap secret; do
    [ -n "$path" ] || continue
    printf '%s\n' "$path"
    case "${postmap#postalias:}" in hash|btree) printf '%s\n' "$path.db" ;; lmdb) printf '%s\n' "$path.lmdb" ;; cdb) printf '%s\n' "$path.cdb" ;; esac
  done < "$D/files.list"
  while IFS="$TAB" read -r kind path rest; do [ -n "$path" ] && printf '%s\n' "$path"; done < "$D/hooks.list"
  return 0
}
# Rewritten only when it differs, so that an apply that changes nothing writes nothing. The
# fingerprint is a cache of "nothing changed": a torn one only costs the next apply a full plan. The
# paths go first: a record cut short between the two files never matches.
save_fingerprint() {
  fingerprint_paths > "$D/fingerprint.paths"
  fingerprint_of "$D/fingerprint.paths" > "$D/fingerprint.now"
  same_file "$D/fingerprint.paths" "$S/fingerprint.paths" && same_file "$D/fingerprint.now" "$S/fingerprint" && return 0
  # In place: one cut short has fewer lines, so it never matches and the next apply plans in full.
  copy_text "$D/fingerprint.paths" "$S/fingerprint.paths" || : > "$S/fingerprint.paths"
  copy_text "$D/fingerprint.now" "$S/fingerprint" || : > "$S/fingerprint"
}
# cat(1) of a small text file, without a process.
copy_text() {
  : > "$2" || return 1
  while IFS= read -r line || [ -n "$line" ]; do printf '%s\n' "$line" >> "$2" || return 1; done < "$1"
}
# Do two small text files hold the same lines? (cmp(1) without a process; a missing file differs)
same_file() {
  [ -f "$1" ] && [ -f "$2" ] || return 1
  exec 6< "$2"
  while IFS= read -r a; do
    IFS= read -r b <&6 && [ "$a" = "$b" ] || { exec 6<&-; return 1; }
  done < "$1"
  IFS= read -r b <&6 && { exec 6<&-; return 1; }
  exec 6<&-
  return 0
}

# main.orig / master.orig: add the originals of names managed for the first time ("o" plan lines)
# and drop the names no longer managed ("d" plan lines). Builtins only.
write_records() {
  staged_name "$2" .new; new=$NEW
  stage_path "$new"
  drops=""
  while IFS= read -r line; do
    case "$line" in "d${TAB}"*) drops="$drops${drops:+
}${line#d${TAB}}" ;; esac
  done < "$1"
  : > "$new" || rollback "cannot write $new (is the filesystem full?)"
  while IFS= read -r line || [ -n "$line" ]; do
    listed "${line%%${TAB}*}" "$drops" && continue
    printf '%s\n' "$line" >> "$new" || rollback "cannot write $new (is the filesystem full?)"
  done < "$2"
  while IFS= read -r line; do
    case "$line" in "o${TAB}"*) printf '%s\n' "${line#o${TAB}}" >> "$new" || rollback "cannot write $new (is the filesystem full?)" ;; esac
  done < "$1"
  put "$new" "$2"
}
write_file_records() {
  # Add first-time files (with their originals saved) and drop the ones no longer managed.
  staged_name "$S/files.orig" .new; fo=$NEW
  stage_path "$fo"
  : > "$fo" || rollback "cannot write $fo (is the filesystem full?)"
  wanted="" had=""
  while IFS="$TAB" read -r path rest; do [ -n "$path" ] && wanted="$wanted${wanted:+
}$path"; done < "$D/files.list"
  while IFS="$TAB" read -r path origstate postmap; do
    [ -n "$path" ] || continue
    had="$had${had:+
}$path"
    if listed "$path" "$wanted"; then printf '%s\t%s\t%s\n' "$path" "$origstate" "$postmap" >> "$fo" || rollback "cannot write $fo"
    else path_id "$path"; drop "$S/orig/$PATH_ID"; fi
  done < "$S/files.orig"
  while IFS="$TAB" read -r path mode owner group sha postmap secret; do
    [ -n "$path" ] || continue
    listed "$path" "$had" && continue
    # The original is the live file (nothing live changed yet): for a file this apply replaces, and
    # for one the host already had exactly as wanted, which destroy must leave, not delete.
    if [ -f "$path" ]; then
      path_id "$path"; o="$S/orig/$PATH_ID"
      stage_path "$o.new"
      cp -p "$path" "$o.new" || rollback "cannot save the original of $path (is the filesystem full?)"
      put "$o.new" "$o" "$path"; st=present
    else st=absent; fi
    printf '%s\t%s\t%s\n' "$path" "$st" "$postmap" >> "$fo" || rollback "cannot write $fo"
  done < "$D/files.list"
  put "$fo" "$S/files.orig"
}
# $S/dirs: directories the stack created. One still holding a managed file stays listed; the others
# are listed in $D/dirs.gone for remove_gone_dirs once the swap is done.
write_dir_records() {
  : > "$D/dirs.gone"
  [ -s "$S/dirs" ] || [ -s "$D/dirs.created" ] || return 0
  staged_name "$S/dirs" .new
  stage_path "$NEW"
  cat "$S/dirs" "$D/dirs.created" 2>/dev/null | sort -u | while IFS= read -r dir; do
    if cut -f1 "$D/files.list" | awk -v d="$dir/" 'index($0, d) == 1 { found = 1 } END { exit !found }'; then printf '%s\n' "$dir"
    else printf '%s\n' "$dir" >> "$D/dirs.gone"; fi
  done > "$NEW" || rollback "cannot write $NEW (is the filesystem full?)"
  put "$NEW" "$S/dirs"
}
# rmdir only removes an empty directory: anything a user put there keeps it (and it is forgotten).
remove_gone_dirs() {
  [ -s "$D/dirs.gone" ] || return 0
  sort -r "$D/dirs.gone" | while IFS= read -r dir; do rmdir -- "$dir" 2>/dev/null; done
  return 0
}
finish_records() {
  write_records "$D/plan.main" "$S/main.orig"
  write_records "$D/plan.master" "$S/master.orig"
  write_file_records
  write_dir_records
  while IFS="$TAB" read -r kind path bits generation; do
    [ -n "$kind" ] || continue
    path_id "$path"; h="$S/hook.$PATH_ID"
    staged_name "$h" .new
    stage_path "$NEW"
    printf '%s %s\n' "$generation" "$bits" > "$NEW" || rollback "cannot write $NEW"
    put "$NEW" "$h"
  done < "$D/plan.hooks"
  staged_name "$S/applied_sha256" .new
  stage_path "$NEW"
  printf '%s\n' "$WANT_SHA" > "$NEW" || rollback "cannot write $NEW"
  put "$NEW" "$S/applied_sha256"
}
