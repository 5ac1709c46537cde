# cdktf-postfix remote transaction: go live, and roll back on any failure (sourced by
# transaction.sh). Every new file is written beside its target and renamed over it (rename(2)).

ROLLBACK_NEEDED=no
restore_paths() {
  while IFS="$TAB" read -r op path rest; do
    id=$(path_id "$path")
    for s in "" .db .lmdb .cdb; do
      if [ -f "$D/backup/files/$id$s" ]; then rm -f "$path$s.cdktf-restore"; cp -p "$D/backup/files/$id$s" "$path$s.cdktf-restore" && mv -f "$path$s.cdktf-restore" "$path$s"
      else rm -f "$path$s"; fi
    done
    rm -f "$path.cdktf-new" "$path.cdktf-new.db" "$path.cdktf-new.lmdb" "$path.cdktf-new.cdb"
  done < "$1"
}
# Put the backup back byte for byte and Postfix back in the state it was in; then fail.
rollback() {
  say "error${TAB}$1"
  if [ "$ROLLBACK_NEEDED" = yes ]; then
    rm -f "$C/main.cf.cdktf-restore" "$C/master.cf.cdktf-restore"
    cp -p "$D/backup/main.cf" "$C/main.cf.cdktf-restore" && mv -f "$C/main.cf.cdktf-restore" "$C/main.cf"
    cp -p "$D/backup/master.cf" "$C/master.cf.cdktf-restore" && mv -f "$C/master.cf.cdktf-restore" "$C/master.cf"
    touch -d '10 seconds ago' "$C/main.cf" "$C/master.cf"
    restore_paths "$D/plan.files"
    restore_paths "$D/plan.hooks"
    if [ "$WAS_RUNNING" = yes ]; then
      if postfix -c "$C" status > /dev/null 2>&1; then postfix -c "$C" reload > /dev/null 2>&1; else postfix -c "$C" start > /dev/null 2>&1; fi
      say "ran${TAB}postfix reload (rollback)"
    else
      postfix -c "$C" status > /dev/null 2>&1 && postfix -c "$C" stop > /dev/null 2>&1
    fi
  fi
  say "result${TAB}failed"
  exit 1
}

place_file() {
  path=$1 mode=$2 owner=$3 group=$4 sha=$5 postmap=$6
  dir=$(dirname "$path")
  mkdir -p "$dir" || rollback "cannot create $dir"
  new="$path.cdktf-new"
  suffix=$(index_suffix "$postmap")
  # Whatever sits at a staging path (a leftover, or a planted link) goes first: cp would write
  # through a symbolic link. A directory there cannot be removed and stops the apply.
  rm -f "$new" "$new$suffix"
  unsafe_path "$new" || unsafe_path "$new$suffix" && rollback "cannot use $new: it is not a regular file"
  if [ -f "$D/payload/$sha" ]; then cp "$D/payload/$sha" "$new" || rollback "cannot write $new"
  else cp -p "$path" "$new" || rollback "cannot copy $path"; fi
  got=$(sha256sum < "$new" | cut -c1-64)
  [ "$got" = "$sha" ] || rollback "content of $path arrived damaged (sha256 $got, expected $sha)"
  chown "$owner:$group" "$new" || rollback "chown $owner:$group $path failed"
  chmod "$mode" "$new" || rollback "chmod $mode $path failed"
  if [ -n "$suffix" ]; then
    # postmap truncates an existing index in place: build a new one beside it and rename.
    build_index "$postmap" "$new" 2> "$D/postmap.err" || rollback "postmap $postmap:$path failed: $(head -c 1000 "$D/postmap.err" | tr '\n' ' ')"
    say "ran${TAB}postmap $postmap:$path"
    mv -f "$new$suffix" "$path$suffix" || rollback "cannot rename $path$suffix"
  fi
  mv -f "$new" "$path" || rollback "cannot rename $path"
  say "changed${TAB}file${TAB}$path"
}
revert_file() {
  path=$1 origstate=$2 postmap=$3
  id=$(path_id "$path"); suffix=$(index_suffix "$postmap")
  if [ "$origstate" = present ] && [ -f "$S/orig/$id" ]; then
    rm -f "$path.cdktf-new" "$path.cdktf-new$suffix"
    cp -p "$S/orig/$id" "$path.cdktf-new" || rollback "cannot restore $path"
    if [ -n "$suffix" ]; then build_index "$postmap" "$path.cdktf-new" 2>/dev/null && mv -f "$path.cdktf-new$suffix" "$path$suffix"; fi
    mv -f "$path.cdktf-new" "$path"
  else
    rm -f "$path"; [ -n "$suffix" ] && rm -f "$path$suffix"
  fi
  say "changed${TAB}file${TAB}$path"
}
swap_files() {
  while IFS="$TAB" read -r op a b c d e f; do
    case "$op" in
      f) place_file "$a" "$b" "$c" "$d" "$e" "$f" ;;
      r) revert_file "$a" "$b" "$c" ;;
    esac
  done < "$D/plan.files"
}

run_hooks() {
  while IFS="$TAB" read -r kind path bits generation; do
    case "$kind" in
      dhparam-generate)
        if [ -f "$D/payload/dh-rotate.sh" ]; then
          sh "$D/payload/dh-rotate.sh" -n "$path" "$bits" > "$D/hook.out" 2>&1 || rollback "DH parameter generation for $path failed: $(tail -c 1000 "$D/hook.out" | tr '\n' ' ')"
        else
          openssl dhparam -out "$path.cdktf-new" "$bits" > "$D/hook.out" 2>&1 || rollback "openssl dhparam $bits failed"
          chmod 0644 "$path.cdktf-new"; mv -f "$path.cdktf-new" "$path"
        fi
        say "ran${TAB}dhparam $bits $path" ;;
      dkim-keygen|service-restart)
        # Fixed scripts shipped by the runner (lib/render/service-hooks.ts); arguments stay argv entries.
        sh "$D/payload/hook-$kind.sh" "$path" "$bits" "$generation" > "$D/hook.out" 2>&1 || rollback "$kind for $path failed: $(tail -c 1000 "$D/hook.out" | tr '\n' ' ')"
        say "ran${TAB}$kind $path" ;;
      *) rollback "unknown hook kind $kind" ;;
    esac
  done < "$D/plan.hooks"
}

swap_config() {
  for f in main.cf master.cf; do
    rm -f "$C/$f.cdktf-new"
    cp -p "$D/stage/$f" "$C/$f.cdktf-new" || rollback "cannot write $C/$f.cdktf-new"
  done
  touch -d '10 seconds ago' "$C/main.cf.cdktf-new" "$C/master.cf.cdktf-new"
  mv -f "$C/master.cf.cdktf-new" "$C/master.cf" || rollback "cannot rename master.cf"
  mv -f "$C/main.cf.cdktf-new" "$C/main.cf" || rollback "cannot rename main.cf"
  while IFS="$TAB" read -r op rest; do
    case "$op" in e|x) n=${rest%%=*}; say "changed${TAB}main${TAB}$n" ;; esac
  done < "$D/plan.main"
  while IFS="$TAB" read -r op rest; do
    case "$op" in m|x) n=${rest%%=*}; say "changed${TAB}master${TAB}$n" ;; esac
  done < "$D/plan.master"
}
