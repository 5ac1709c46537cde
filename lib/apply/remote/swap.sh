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
  top=$1; while dir_of "$top"; [ ! -d "$DIR" ]; do top=$DIR; done
  mkdir -p "$1" || rollback "cannot create $1"
  p=$1
  while :; do printf '%s\n' "$p" >> "$D/dirs.created"; [ "$p" = "$top" ] && break; dir_of "$p"; p=$DIR; done
}
# A managed file staged beside its target with its mode and owner (one install(1): copy, chown,
# chmod), its index built by postmap on the staged copy. Its sha256 is checked against the
# bundle's when the journal is committed (journal.sh), with every other staged copy in one pass.
place_file() {
  path=$1 mode=$2 owner=$3 group=$4 sha=$5 postmap=$6
  dir_of "$path"; make_dirs "$DIR"
  set_suffix "$postmap"; suffix=$SUFFIX
  staged_name "$path" .cdktf-new; new=$NEW
  # postmap and postalias run as the owner of a table that root does not own (postmap(1) -o), who
  # cannot enter the journal's directory (root, 0700): such a table is staged beside its target.
  case "$suffix:$owner" in :*|*:root|*:0) ;; *) new="$path.cdktf-new" ;; esac
  # Whatever sits at a staging path (a leftover, or a planted link) goes first: install would write
  # through a symbolic link. A directory there cannot be removed and stops the apply.
  if [ -n "$suffix" ]; then stage_path "$new" "$new$suffix"; else stage_path "$new"; fi
  if [ -f "$D/payload/$sha" ]; then
    install -m "$mode" -o "$owner" -g "$group" "$D/payload/$sha" "$new" 2> "$D/install.err" || rollback "cannot write $new with mode $mode and owner $owner:$group: $(head -c 500 "$D/install.err" | tr '\n' ' ') (is the filesystem full?)"
  else
    install -p -m "$mode" -o "$owner" -g "$group" "$path" "$new" 2> "$D/install.err" || rollback "cannot copy $path with mode $mode and owner $owner:$group: $(head -c 500 "$D/install.err" | tr '\n' ' ')"
  fi
  if [ -n "$suffix" ]; then
    # postmap truncates an existing index in place: build a new one beside it and rename.
    build_index "$postmap" "$new" 2> "$D/postmap.err" || rollback "postmap $postmap:$path failed: $(head -c 1000 "$D/postmap.err" | tr '\n' ' ')"
    say "ran${TAB}postmap $postmap:$path"
    put "$new$suffix" "$path$suffix"
  fi
  put "$new" "$path" "$sha"
  say "changed${TAB}file${TAB}$path"
}
revert_file() {
  path=$1 origstate=$2 postmap=$3
  path_id "$path"; set_suffix "$postmap"; suffix=$SUFFIX
  if [ "$origstate" = present ] && [ -f "$S/orig/$PATH_ID" ]; then
    if [ -n "$suffix" ]; then stage_path "$path.cdktf-new" "$path.cdktf-new$suffix"; else stage_path "$path.cdktf-new"; fi
    cp -p "$S/orig/$PATH_ID" "$path.cdktf-new" || rollback "cannot restore $path"
    if [ -n "$suffix" ]; then build_index "$postmap" "$path.cdktf-new" 2>/dev/null && put "$path.cdktf-new$suffix" "$path$suffix"; fi
    put "$path.cdktf-new" "$path" "$S/orig/$PATH_ID"
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

# The new main.cf and master.cf, as staged and validated in $STAGE ($J/new, stage.sh): renamed
# over their targets through the journal. Their mtime is in the past already (stage_config).
stage_main_and_master() {
  put "$STAGE/master.cf" "$C/master.cf"
  put "$STAGE/main.cf" "$C/main.cf"
  while IFS="$TAB" read -r op rest; do
    case "$op" in e|x) n=${rest%%=*}; say "changed${TAB}main${TAB}$n" ;; esac
  done < "$D/plan.main"
  while IFS="$TAB" read -r op rest; do
    case "$op" in m|x) n=${rest%%=*}; say "changed${TAB}master${TAB}$n" ;; esac
  done < "$D/plan.master"
}
