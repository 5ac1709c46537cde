# cdktf-postfix remote transaction: read the host's state and plan the changes (sourced by
# transaction.sh). Writes $D/plan.main, $D/plan.master, $D/plan.files, $D/plan.hooks and $D/needs.

read_current_state() {
  postconf -c "$C" -n > "$D/cur.main" 2>/dev/null
  postconf -c "$C" -M > "$D/cur.master.raw" 2>/dev/null
}

# The status action: the host's managed state in sections, for `diff`.
print_status() {
  section() { say "@@section${TAB}$1"; }
  section main; cat "$D/cur.main"
  # As postconf -M prints them (padded columns): the runner collapses the blanks (lib/apply/diff.ts).
  section master; cat "$D/cur.master.raw"
  section main.orig; cat "$S/main.orig"
  section master.orig; cat "$S/master.orig"
  section files.orig; cat "$S/files.orig"
  section applied_sha256; cat "$S/applied_sha256"
  while IFS="$TAB" read -r path mode owner group sha postmap secret; do
    [ -n "$path" ] || continue
    if [ -f "$path" ]; then
      # Content only for small files: a diff of a million-line table is no use, its hash is.
      section "file${TAB}$path${TAB}$(stat -c '%a %U %G' "$path")${TAB}$(sha256sum < "$path" | cut -c1-64)"
      if [ "$(stat -c %s "$path")" -le 1048576 ] && [ "$secret" != yes ]; then base64 -w0 < "$path"; fi
      say ""
    else
      section "nofile${TAB}$path"
    fi
  done < "$D/files.list"
}

# main.cf and master.cf: one reconciliation program for both (plan.awk).
plan_main_and_master() {
  awk -v SET=em -v OUT_E="$D/plan.main" -v OUT_M="$D/plan.master" -f "$R/plan.awk" \
    "$D/cur.main" "$S/main.orig" "$D/main.set" "$D/main.remove" \
    "$D/cur.master.raw" "$S/master.orig" "$D/master.set" "$D/master.remove"
}

# Files: "f path mode owner group sha postmap" to place, "r path origstate postmap" to put back.
# One stat(1) and one sha256sum(1) for every target there is; the rest are builtins.
plan_files() {
  : > "$D/plan.files"; : > "$D/needs"; : > "$D/cur.stat"; : > "$D/cur.sha"
  WANTED=""
  set --
  while IFS="$TAB" read -r path rest; do
    [ -n "$path" ] || continue
    WANTED="$WANTED${WANTED:+
}$path"
    [ -f "$path" ] && set -- "$@" "$path"
  done < "$D/files.list"
  if [ "$#" -gt 0 ]; then
    stat -c '%a %U %G %n' -- "$@" > "$D/cur.stat" 2>/dev/null
    sha256sum -- "$@" > "$D/cur.sha" 2>/dev/null
  fi
  exec 4< "$D/cur.stat" 5< "$D/cur.sha"
  while IFS="$TAB" read -r path mode owner group sha postmap secret; do
    [ -n "$path" ] || continue
    set_suffix "$postmap"; suffix=$SUFFIX
    refuse_unsafe "$path" "$path$suffix"
    state=absent cursha=""
    if [ -f "$path" ]; then
      # The lines come in the order of the paths; one that does not name this path (a file that
      # appeared or went since) counts as changed.
      IFS= read -r st <&4 && [ "${st#* * * }" = "$path" ] && state=${st% "$path"}
      IFS= read -r hl <&5 && [ "${hl#*  }" = "$path" ] && cursha=${hl%%  *}
    fi
    index_ok=yes
    if [ -n "$suffix" ] && [ ! -f "$path$suffix" ]; then index_ok=no; fi
    strip_mode "$mode"
    if [ "$cursha" != "$sha" ] || [ "$state" != "$MODE $owner $group" ] || [ "$index_ok" = no ]; then
      printf 'f\t%s\t%s\t%s\t%s\t%s\t%s\n' "$path" "$mode" "$owner" "$group" "$sha" "$postmap" >> "$D/plan.files"
      if [ "$cursha" != "$sha" ] && [ ! -f "$D/payload/$sha" ]; then say "need${TAB}$sha"; echo "$sha" >> "$D/needs"; fi
    fi
  done < "$D/files.list"
  exec 4<&- 5<&-
  # Files managed before and no longer wanted: back to the original, or gone if there was none.
  while IFS="$TAB" read -r path origstate postmap; do
    [ -n "$path" ] || continue
    if ! listed "$path" "$WANTED"; then
      set_suffix "$postmap"
      refuse_unsafe "$path" "$path$SUFFIX"
      printf 'r\t%s\t%s\t%s\n' "$path" "$origstate" "$postmap" >> "$D/plan.files"
    fi
  done < "$S/files.orig"
}

# Hooks (DH parameters): run when the output is missing or its generation or size changed.
plan_hooks() {
  : > "$D/plan.hooks"
  while IFS="$TAB" read -r kind path bits generation; do
    [ -n "$kind" ] || continue
    refuse_unsafe "$path"
    path_id "$path"
    done_gen=""; [ -f "$S/hook.$PATH_ID" ] && { IFS= read -r done_gen < "$S/hook.$PATH_ID" || :; }
    if [ ! -s "$path" ] || [ "$done_gen" != "$generation $bits" ]; then
      printf '%s\t%s\t%s\t%s\n' "$kind" "$path" "$bits" "$generation" >> "$D/plan.hooks"
    fi
  done < "$D/hooks.list"
}

has_bookkeeping() { while IFS= read -r line; do case "$line" in [od]"$TAB"*) return 0 ;; esac; done < "$1"; return 1; }
has_edits() { while IFS= read -r line; do case "$line" in [emx]"$TAB"*) return 0 ;; esac; done < "$1"; return 1; }
plan_is_empty() { ! has_edits "$D/plan.main" && ! has_edits "$D/plan.master" && [ ! -s "$D/plan.files" ] && [ ! -s "$D/plan.hooks" ]; }

# Apply's held plan ("hold" staged): print the live state the runner's relay check needs
# (lib/apply/relay-preflight.ts), as the status action's sections, and wait for the runner's answer
# on stdin, in this same transaction: the lock stays held and the state read once is the state
# applied. "go" comes with the payloads the host lacks (a framed tar, lib/apply/stage.ts
# buildGoAnswer); anything else (the check refused, or end of input: the runner went away) ends the
# transaction with nothing changed. Builtins only, but for unpacking the payloads.
hold_for_relay_check() {
  [ -f "$D/hold" ] || return 0
  for part in "main:$D/cur.main" "master:$D/cur.master.raw" "main.orig:$S/main.orig" "master.orig:$S/master.orig"; do
    say "@@section${TAB}${part%%:*}"
    while IFS= read -r line || [ -n "$line" ]; do say "$line"; done < "${part#*:}"
  done
  say "result${TAB}hold"
  answer=""; IFS= read -r answer || :
  [ "$answer" = go ] || exit 3
  n=""; IFS= read -r n || :
  case "$n" in ""|*[!0-9]*) die_early "the answer to the held plan was cut short (no payload length)" ;; esac
  head -c "$n" | tar -xf - -C "$D" 2> "$D/tar.err" && [ -f "$D/END.go" ] ||
    die_early "the payloads did not arrive whole: $(head -c 500 "$D/tar.err")"
  # The payloads still missing, if any (another apply changed the bundle's files meanwhile).
  left=""
  while IFS= read -r sha; do
    [ -f "$D/payload/$sha" ] || { say "need${TAB}$sha"; left="$left$sha
"; }
  done < "$D/needs"
  printf '%s' "$left" > "$D/needs"
}
