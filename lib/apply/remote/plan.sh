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
  awk -v SET=e -f "$R/plan.awk" "$D/cur.main" "$S/main.orig" "$D/main.set" "$D/main.remove" > "$D/plan.main"
  awk -v SET=m -f "$R/plan.awk" "$D/cur.master.raw" "$S/master.orig" "$D/master.set" "$D/master.remove" > "$D/plan.master"
}

# Files: "f path mode owner group sha postmap" to place, "r path origstate postmap" to put back.
plan_files() {
  : > "$D/plan.files"; : > "$D/needs"
  while IFS="$TAB" read -r path mode owner group sha postmap secret; do
    [ -n "$path" ] || continue
    refuse_unsafe "$path" "$path$(index_suffix "$postmap")"
    state=$(stat -c '%a %U %G' "$path" 2>/dev/null || echo absent)
    cursha=""
    [ -f "$path" ] && cursha=$(sha256sum < "$path" | cut -c1-64)
    suffix=$(index_suffix "$postmap")
    index_ok=yes
    if [ -n "$suffix" ] && [ ! -f "$path$suffix" ]; then index_ok=no; fi
    wantmode=$(printf '%s' "$mode" | sed 's/^0*//'); [ -n "$wantmode" ] || wantmode=0
    if [ "$cursha" != "$sha" ] || [ "$state" != "$wantmode $owner $group" ] || [ "$index_ok" = no ]; then
      printf 'f\t%s\t%s\t%s\t%s\t%s\t%s\n' "$path" "$mode" "$owner" "$group" "$sha" "$postmap" >> "$D/plan.files"
      if [ "$cursha" != "$sha" ] && [ ! -f "$D/payload/$sha" ]; then say "need${TAB}$sha"; echo "$sha" >> "$D/needs"; fi
    fi
  done < "$D/files.list"
  # Files managed before and no longer wanted: back to the original, or gone if there was none.
  while IFS="$TAB" read -r path origstate postmap; do
    [ -n "$path" ] || continue
    if ! cut -f1 "$D/files.list" | grep -Fqx -- "$path"; then
      refuse_unsafe "$path" "$path$(index_suffix "$postmap")"
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
    done_gen=$(cat "$S/hook.$(path_id "$path")" 2>/dev/null || :)
    if [ ! -s "$path" ] || [ "$done_gen" != "$generation $bits" ]; then
      printf '%s\t%s\t%s\t%s\n' "$kind" "$path" "$bits" "$generation" >> "$D/plan.hooks"
    fi
  done < "$D/hooks.list"
}

has_edits() { grep -q '^[emx]' "$1"; }
plan_is_empty() { ! has_edits "$D/plan.main" && ! has_edits "$D/plan.master" && [ ! -s "$D/plan.files" ] && [ ! -s "$D/plan.hooks" ]; }

# Apply's first round ("hold" staged): stop after the plan and print the live state the runner's
# relay check needs (lib/apply/relay-preflight.ts), as the status action's sections; the runner
# sends the next round when it passes. Builtins only: no process is started here.
hold_for_relay_check() {
  [ -f "$D/hold" ] || return 0
  for part in "main:$D/cur.main" "master:$D/cur.master.raw" "main.orig:$S/main.orig" "master.orig:$S/master.orig"; do
    say "@@section${TAB}${part%%:*}"
    while IFS= read -r line || [ -n "$line" ]; do say "$line"; done < "${part#*:}"
  done
  say "result${TAB}hold"
  exit 3
}
