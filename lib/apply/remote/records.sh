# cdktf-postfix remote transaction: the managed record in $S = CONFIG_DIRECTORY/.cdktf-postfix/
# (sourced by transaction.sh). Inside a transaction its new files are staged and renamed through the
# journal (put/drop in journal.sh) with everything else, so it never disagrees with the host.

# After each apply the host's side of the bargain (main.cf, master.cf, every managed file and index
# and hook output, with mode and owner) is fingerprinted; the bundle hash covers the desired side.
# Same bundle and same fingerprint: nothing to do, decided with three processes instead of a full plan.
fingerprint() {
  (
    set -- "$C/main.cf" "$C/master.cf"
    while IFS="$TAB" read -r path mode owner group sha postmap secret; do
      [ -n "$path" ] || continue
      set -- "$@" "$path"
      case "${postmap#postalias:}" in hash|btree) set -- "$@" "$path.db" ;; lmdb) set -- "$@" "$path.lmdb" ;; cdb) set -- "$@" "$path.cdb" ;; esac
    done < "$D/files.list"
    while IFS="$TAB" read -r kind path rest; do [ -n "$path" ] && set -- "$@" "$path"; done < "$D/hooks.list"
    sha256sum -- "$@" 2>&1
    stat -c '%a %U %G %n' -- "$@" 2>&1
  )
}
# Rewritten only when it differs, so that an apply that changes nothing writes nothing.
save_fingerprint() {
  fingerprint > "$D/fingerprint.now"
  cmp -s "$D/fingerprint.now" "$S/fingerprint" && return 0
  cp "$D/fingerprint.now" "$S/fingerprint.new" && mv -f "$S/fingerprint.new" "$S/fingerprint"
}

# main.orig / master.orig: add the originals of names managed for the first time ("o" plan lines)
# and drop the names no longer managed ("d" plan lines).
write_records() {
  stage_path "$2.new"
  awk -F '\t' -v OFS='\t' '
    FILENAME == ARGV[1] { if ($1 == "o") { keep[$2] = $0; order[++n] = $2 } else if ($1 == "d") drop[$2] = 1; next }
    { if (!($1 in drop)) print }
    END { for (k = 1; k <= n; k++) { line = keep[order[k]]; sub(/^o\t/, "", line); print line } }
  ' "$1" "$2" > "$2.new" || rollback "cannot write $2.new (is the filesystem full?)"
  put "$2.new" "$2"
}
write_file_records() {
  # Add first-time files (with their originals saved) and drop the ones no longer managed.
  stage_path "$S/files.orig.new"
  : > "$S/files.orig.new" || rollback "cannot write $S/files.orig.new (is the filesystem full?)"
  while IFS="$TAB" read -r path origstate postmap; do
    [ -n "$path" ] || continue
    if cut -f1 "$D/files.list" | grep -Fqx -- "$path"; then printf '%s\t%s\t%s\n' "$path" "$origstate" "$postmap" >> "$S/files.orig.new" || rollback "cannot write $S/files.orig.new"
    else drop "$S/orig/$(path_id "$path")"; fi
  done < "$S/files.orig"
  while IFS="$TAB" read -r path mode owner group sha postmap secret; do
    [ -n "$path" ] || continue
    cut -f1 "$S/files.orig" | grep -Fqx -- "$path" && continue
    if [ -f "$D/backup/files/$(path_id "$path")" ]; then
      o="$S/orig/$(path_id "$path")"
      stage_path "$o.new"
      cp -p "$D/backup/files/$(path_id "$path")" "$o.new" || rollback "cannot save the original of $path (is the filesystem full?)"
      put "$o.new" "$o"; st=present
    else st=absent; fi
    printf '%s\t%s\t%s\n' "$path" "$st" "$postmap" >> "$S/files.orig.new" || rollback "cannot write $S/files.orig.new"
  done < "$D/files.list"
  put "$S/files.orig.new" "$S/files.orig"
}
# $S/dirs: directories the stack created. One still holding a managed file stays listed; the others
# are listed in $D/dirs.gone for remove_gone_dirs once the swap is done.
write_dir_records() {
  : > "$D/dirs.gone"
  [ -s "$S/dirs" ] || [ -s "$D/dirs.created" ] || return 0
  stage_path "$S/dirs.new"
  cat "$S/dirs" "$D/dirs.created" 2>/dev/null | sort -u | while IFS= read -r dir; do
    if cut -f1 "$D/files.list" | awk -v d="$dir/" 'index($0, d) == 1 { found = 1 } END { exit !found }'; then printf '%s\n' "$dir"
    else printf '%s\n' "$dir" >> "$D/dirs.gone"; fi
  done > "$S/dirs.new" || rollback "cannot write $S/dirs.new (is the filesystem full?)"
  put "$S/dirs.new" "$S/dirs"
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
    stage_path "$S/hook.$(path_id "$path").new"
    printf '%s %s\n' "$generation" "$bits" > "$S/hook.$(path_id "$path").new" || rollback "cannot write $S/hook.$(path_id "$path").new"
    put "$S/hook.$(path_id "$path").new" "$S/hook.$(path_id "$path")"
  done < "$D/plan.hooks"
  stage_path "$S/applied_sha256.new"
  printf '%s\n' "$WANT_SHA" > "$S/applied_sha256.new" || rollback "cannot write $S/applied_sha256.new"
  put "$S/applied_sha256.new" "$S/applied_sha256"
}
