# cdktf-postfix remote transaction: stage every new file beside its target, and roll back on any
# failure (sourced by transaction.sh). The renames go through the journal (journal.sh).

# Before the journal is committed nothing live changed: the staging copies go. After it, every
# target gets its backup back and Postfix returns to the state it was in; then fail.
rollback() {
  say "error${TAB}$1"
  if [ -f "$J/journal" ]; then
    journal_undo
    touch -d '10 seconds ago' "$C/main.cf" "$C/master.cf"
    restore_postfix_state "$WAS_RUNNING"
    [ "$WAS_RUNNING" = yes ] && say "ran${TAB}postfix reload (rollback)"
    journal_clear
  else
    discard_staged
  fi
  say "result${TAB}failed"
  exit 1
}

# mkdir -p, noting each directory it creates (deepest first) for the managed record: a directory
# the stack created goes again once no managed file needs it (records.sh).
make_dirs() {
  [ -d "$1" ] && return 0
  top=$1; while [ ! -d "$(dirname "$top")" ]; do top=$(dirname "$top"); done
  mkdir -p "$1" || rollback "cannot create $1"
  p=$1
  while :; do printf '%s\n' "$p" >> "$D/dirs.created"; [ "$p" = "$top" ] && break; p=$(dirname "$p"); done
}
place_file() {
  path=$1 mode=$2 owner=$3 group=$4 sha=$5 postmap=$6
  make_dirs "$(dirname "$path")"
  new="$path.cdktf-new"
  suffix=$(index_suffix "$postmap")
  # Whatever sits at a staging path (a leftover, or a planted link) goes first: cp would write
  # through a symbolic link. A directory there cannot be removed and stops the apply.
  stage_path "$new"; [ -n "$suffix" ] && stage_path "$new$suffix"
  if [ -f "$D/payload/$sha" ]; then cp "$D/payload/$sha" "$new" || rollback "cannot write $new (is the filesystem full?)"
  else cp -p "$path" "$new" || rollback "cannot copy $path"; fi
  got=$(sha256sum < "$new" | cut -c1-64)
  [ "$got" = "$sha" ] || rollback "content of $path arrived damaged (sha256 $got, expected $sha)"
  chown "$owner:$group" "$new" || rollback "chown $owner:$group $path failed"
  chmod "$mode" "$new" || rollback "chmod $mode $path failed"
  if [ -n "$suffix" ]; then
    # postmap truncates an existing index in place: build a new one beside it and rename.
    build_index "$postmap" "$new" 2> "$D/postmap.err" || rollback "postmap $postmap:$path failed: $(head -c 1000 "$D/postmap.err" | tr '\n' ' ')"
    say "ran${TAB}postmap $postmap:$path"
    put "$new$suffix" "$path$suffix"
  fi
  put "$new" "$path"
  say "changed${TAB}file${TAB}$path"
}
revert_file() {
  path=$1 origstate=$2 postmap=$3
  id=$(path_id "$path"); suffix=$(index_suffix "$postmap")
  if [ "$origstate" = present ] && [ -f "$S/orig/$id" ]; then
    stage_path "$path.cdktf-new"; [ -n "$suffix" ] && stage_path "$path.cdktf-new$suffix"
    cp -p "$S/orig/$id" "$path.cdktf-new" || rollback "cannot restore $path"
    if [ -n "$suffix" ]; then build_index "$postmap" "$path.cdktf-new" 2>/dev/null && put "$path.cdktf-new$suffix" "$path$suffix"; fi
    put "$path.cdktf-new" "$path"
  else
    drop "$path"; [ -n "$suffix" ] && drop "$path$suffix"
  fi
  say "changed${TAB}file${TAB}$path"
}
stage_files() {
  while IFS="$TAB" read -r op a b c d e f; do
    case "$op" in
      f) place_file "$a" "$b" "$c" "$d" "$e" "$f" ;;
      r) revert_file "$a" "$b" "$c" ;;
    esac
  done < "$D/plan.files"
}

hook_targets() {
  while IFS="$TAB" read -r kind path rest; do [ -n "$path" ] && hooked "$path"; done < "$D/plan.hooks"
  return 0
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
  printf 'hooks\n' >> "$J/done"
}

stage_main_and_master() {
  for f in main.cf master.cf; do
    stage_path "$C/$f.cdktf-new"
    cp -p "$D/stage/$f" "$C/$f.cdktf-new" && cmp -s "$D/stage/$f" "$C/$f.cdktf-new" || rollback "cannot write $C/$f.cdktf-new (is the filesystem full?)"
  done
  touch -d '10 seconds ago' "$C/main.cf.cdktf-new" "$C/master.cf.cdktf-new"
  put "$C/master.cf.cdktf-new" "$C/master.cf"
  put "$C/main.cf.cdktf-new" "$C/main.cf"
  while IFS="$TAB" read -r op rest; do
    case "$op" in e|x) n=${rest%%=*}; say "changed${TAB}main${TAB}$n" ;; esac
  done < "$D/plan.main"
  while IFS="$TAB" read -r op rest; do
    case "$op" in m|x) n=${rest%%=*}; say "changed${TAB}master${TAB}$n" ;; esac
  done < "$D/plan.master"
}
