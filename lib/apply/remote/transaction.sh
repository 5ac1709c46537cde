# cdktf-postfix remote transaction (POSIX sh, run as root by the runner over SSH).
#
#   sh transaction.sh STAGE_DIR
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
#   hooks.list          kind path bits generation
#
# Output, one event a line on stdout: "changed<TAB>main|master|file<TAB>name", "ran<TAB>cmd",
# "need<TAB>sha256", "step<TAB>name<TAB>ms", "error<TAB>text", and last "result<TAB>unchanged|applied|
# failed|need|removed|status". Exit status: 0 ok, 3 payloads needed, 1 failed (host restored).
#
# Managed record, in CONFIG_DIRECTORY/.cdktf-postfix/ (mode 0700): applied_sha256, main.orig and master.orig
# (name TAB set|unset TAB original value), files.orig (path TAB present|absent), orig/ (original
# files), so that anything removed from code returns to what the host had before.

set -u
umask 022
trap '' HUP PIPE
D=$1
# The staging directory holds only this run's input; it goes when the transaction ends.
trap 'rm -rf "$D"' EXIT
TAB=$(printf '\t')
NL='
'
# Builtins where a subprocess would do: on some kernels (gVisor) each fork costs milliseconds.
read -r ACTION < "$D/action"
read -r C < "$D/config_directory"
WANT_SHA=""; read -r WANT_SHA < "$D/bundle_sha256" || :

say() { printf '%s\n' "$*" 2>/dev/null || :; }
# The runner timestamps each step line as it arrives.
step() { say "step${TAB}$1"; }
read_first() { v=""; [ -f "$1" ] && read -r v < "$1"; printf '%s' "$v"; }
die_early() { say "error${TAB}$*"; say "result${TAB}failed"; exit 1; }

for f in main.set main.remove master.set master.remove files.list tabletypes packages hooks.list; do
  [ -f "$D/$f" ] || : > "$D/$f"
done

[ -f "$C/main.cf" ] || die_early "no Postfix configuration at $C (main.cf missing): install postfix or set configDirectory"
command -v postconf >/dev/null 2>&1 || die_early "postconf not found on the host: install the postfix package"
# The managed record lives beside the configuration it describes (root-owned, mode 0700), so each
# Postfix instance has its own and `postfix check` finds nothing to complain about.
S="$C/.cdktf-postfix"
umask 077
[ -d "$S/orig" ] || mkdir -p "$S/orig" || die_early "cannot create $S"
umask 022
for f in applied_sha256 main.orig master.orig files.orig; do [ -f "$S/$f" ] || : > "$S/$f"; done

# One transaction per host at a time; the lock is released when this process exits.
exec 9>"$S/lock"
if command -v flock >/dev/null 2>&1; then
  flock -w 600 9 || die_early "another apply holds $S/lock for more than 10 minutes"
fi
step lock

# ---------------------------------------------------------------- fast path: nothing changed
# After each apply the host's side of the bargain (main.cf, master.cf, every managed file and index
# and hook output, with mode and owner) is fingerprinted; the bundle hash covers the desired side. Same bundle and same fingerprint: nothing to
# do, decided with three processes instead of a full plan.
index_suffix() { case "${1#postalias:}" in hash|btree) echo .db ;; lmdb) echo .lmdb ;; cdb) echo .cdb ;; *) echo "" ;; esac; }
# Builds the index of $2 as $1 says: postmap TYPE, or postalias for "postalias:TYPE" (aliases(5) syntax).
build_index() { case "$1" in postalias:*) postalias "${1#postalias:}:$2" ;; *) postmap "$1:$2" ;; esac; }
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
if [ "$ACTION" = apply ] && [ -s "$S/fingerprint" ] && [ "$(read_first "$S/applied_sha256")" = "$WANT_SHA" ]; then
  fingerprint > "$D/fingerprint"
  if cmp -s "$D/fingerprint" "$S/fingerprint"; then say "result${TAB}unchanged"; exit 0; fi
fi
save_fingerprint() { fingerprint > "$S/fingerprint.new" && mv -f "$S/fingerprint.new" "$S/fingerprint"; }

# ---------------------------------------------------------------- current state of the host
postconf -c "$C" -n > "$D/cur.main" 2>/dev/null
postconf -c "$C" -M > "$D/cur.master.raw" 2>/dev/null
# master.cf entries compare with runs of blanks collapsed: postconf -M pads its columns.
NORMALIZE='{ gsub(/[ \t]+/, " "); sub(/^ /, ""); sub(/ $/, "") }'

if [ "$ACTION" = status ]; then
  section() { say "@@section${TAB}$1"; }
  section main; cat "$D/cur.main"
  section master; awk "$NORMALIZE 1" "$D/cur.master.raw"
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
  say "result${TAB}status"
  exit 0
fi

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

# ---------------------------------------------------------------- plan: main.cf and master.cf
# One reconciliation for both files: current entries (ARGV[1]), originals of managed names (ARGV[2]),
# desired name=value lines (ARGV[3]), names to remove (ARGV[4]). Output lines: SET<TAB>name=value
# ("e" for main.cf, "m" for master.cf), "x<TAB>name" to delete, "o<TAB>name<TAB>set|unset<TAB>value"
# recording the original of a name managed for the first time, and "d<TAB>name" when a name stops
# being managed (after it was put back to its original).
PLAN_END='
  END {
    for (k = 1; k <= nw; k++) {
      n = order[k]
      if (!(n in origstate)) print "o" TAB n TAB ((n in cur) ? "set" : "unset") TAB ((n in cur) ? cur[n] : "")
      if (!(n in cur) || cur[n] != want[n]) print SET TAB n "=" want[n]
    }
    for (k = 1; k <= nr; k++) {
      n = rorder[k]
      if (!(n in origstate)) print "o" TAB n TAB ((n in cur) ? "set" : "unset") TAB ((n in cur) ? cur[n] : "")
      if (n in cur) print "x" TAB n
    }
    for (n in origstate) {
      if ((n in want) || (n in rm)) continue
      if (origstate[n] == "set") { if (!(n in cur) || cur[n] != origval[n]) print SET TAB n "=" origval[n] }
      else if (n in cur) print "x" TAB n
      print "d" TAB n
    }
  }'
PLAN_INPUTS='
  FILENAME == ARGV[2] { origstate[$1] = $2; origval[$1] = substr($0, length($1) + length($2) + 3); next }
  FILENAME == ARGV[4] { if ($0 != "") { rm[$0] = 1; rorder[++nr] = $0 }; next }'
# main.cf: `postconf -n` prints "name = value" (or "name =" when empty).
awk -F '\t' -v TAB="$TAB" -v SET=e '
  FILENAME == ARGV[1] { i = index($0, " = "); if (i) cur[substr($0, 1, i - 1)] = substr($0, i + 3); else if ($0 ~ / =$/) cur[substr($0, 1, length($0) - 2)] = ""; next }
  FILENAME == ARGV[3] { i = index($0, "="); n = substr($0, 1, i - 1); want[n] = substr($0, i + 1); order[++nw] = n; next }
  '"$PLAN_INPUTS$PLAN_END" "$D/cur.main" "$S/main.orig" "$D/main.set" "$D/main.remove" > "$D/plan.main"
# master.cf: entries keyed service/type, compared with blanks collapsed (postconf -M pads columns).
awk -F '\t' -v TAB="$TAB" -v SET=m '
  function norm(line) { gsub(/[ \t]+/, " ", line); sub(/^ /, "", line); sub(/ $/, "", line); return line }
  FILENAME == ARGV[1] { line = norm($0); split(line, w, " "); cur[w[1] "/" w[2]] = line; next }
  FILENAME == ARGV[3] { i = index($0, "="); n = substr($0, 1, i - 1); want[n] = norm(substr($0, i + 1)); order[++nw] = n; next }
  '"$PLAN_INPUTS$PLAN_END" "$D/cur.master.raw" "$S/master.orig" "$D/master.set" "$D/master.remove" > "$D/plan.master"

# ---------------------------------------------------------------- plan: files
path_id() { printf '%s' "$1" | sha256sum | cut -c1-32; }
: > "$D/plan.files"; : > "$D/needs"
while IFS="$TAB" read -r path mode owner group sha postmap secret; do
  [ -n "$path" ] || continue
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
    printf 'r\t%s\t%s\t%s\n' "$path" "$origstate" "$postmap" >> "$D/plan.files"
  fi
done < "$S/files.orig"

# ---------------------------------------------------------------- plan: hooks
: > "$D/plan.hooks"
while IFS="$TAB" read -r kind path bits generation; do
  [ -n "$kind" ] || continue
  done_gen=$(cat "$S/hook.$(path_id "$path")" 2>/dev/null || :)
  if [ ! -s "$path" ] || [ "$done_gen" != "$generation $bits" ]; then
    printf '%s\t%s\t%s\t%s\n' "$kind" "$path" "$bits" "$generation" >> "$D/plan.hooks"
  fi
done < "$D/hooks.list"
step plan

if [ -s "$D/needs" ]; then say "result${TAB}need"; exit 3; fi
if [ "$ACTION" = check ]; then
  if [ -s "$D/plan.main" ] || [ -s "$D/plan.master" ] || [ -s "$D/plan.files" ] || [ -s "$D/plan.hooks" ]; then say "result${TAB}changes"; else say "result${TAB}unchanged"; fi
  exit 0
fi

has_edits() { grep -q '^[emx]' "$1"; }
if ! has_edits "$D/plan.main" && ! has_edits "$D/plan.master" && [ ! -s "$D/plan.files" ] && [ ! -s "$D/plan.hooks" ]; then
  # Nothing to change on the host. Record bookkeeping only when it differs (first adoption).
  if grep -q '^[od]' "$D/plan.main" "$D/plan.master" 2>/dev/null || [ "$(read_first "$S/applied_sha256")" != "$WANT_SHA" ]; then
    RECORD_ONLY=yes
  else
    [ "$ACTION" = apply ] && save_fingerprint
    say "result${TAB}unchanged"; exit 0
  fi
else
  RECORD_ONLY=no
fi

# ---------------------------------------------------------------- records (written only on success)
write_records() {
  awk -F '\t' -v OFS='\t' '
    FILENAME == ARGV[1] { if ($1 == "o") { keep[$2] = $0; order[++n] = $2 } else if ($1 == "d") drop[$2] = 1; next }
    { if (!($1 in drop)) print }
    END { for (k = 1; k <= n; k++) { line = keep[order[k]]; sub(/^o\t/, "", line); print line } }
  ' "$1" "$2" > "$2.new" && mv -f "$2.new" "$2"
}
write_file_records() {
  # Add first-time files (with their originals saved) and drop the ones no longer managed.
  : > "$S/files.orig.new"
  while IFS="$TAB" read -r path origstate postmap; do
    [ -n "$path" ] || continue
    if cut -f1 "$D/files.list" | grep -Fqx -- "$path"; then printf '%s\t%s\t%s\n' "$path" "$origstate" "$postmap" >> "$S/files.orig.new"
    else rm -f "$S/orig/$(path_id "$path")" "$S/orig/$(path_id "$path").index"; fi
  done < "$S/files.orig"
  while IFS="$TAB" read -r path mode owner group sha postmap secret; do
    [ -n "$path" ] || continue
    cut -f1 "$S/files.orig" | grep -Fqx -- "$path" && continue
    if [ -f "$D/backup/files/$(path_id "$path")" ]; then
      cp -p "$D/backup/files/$(path_id "$path")" "$S/orig/$(path_id "$path")"; st=present
    else st=absent; fi
    printf '%s\t%s\t%s\n' "$path" "$st" "$postmap" >> "$S/files.orig.new"
  done < "$D/files.list"
  mv -f "$S/files.orig.new" "$S/files.orig"
}
finish_records() {
  write_records "$D/plan.main" "$S/main.orig"
  write_records "$D/plan.master" "$S/master.orig"
  write_file_records
  while IFS="$TAB" read -r kind path bits generation; do
    [ -n "$kind" ] && printf '%s %s\n' "$generation" "$bits" > "$S/hook.$(path_id "$path")"
  done < "$D/plan.hooks"
  printf '%s\n' "$WANT_SHA" > "$S/applied_sha256.new" && mv -f "$S/applied_sha256.new" "$S/applied_sha256"
}

if [ "$RECORD_ONLY" = yes ]; then
  mkdir -p "$D/backup/files"
  finish_records
  if [ "$ACTION" = destroy ]; then rm -rf "$S"; say "result${TAB}removed"; else save_fingerprint; say "result${TAB}unchanged"; fi
  exit 0
fi

# ---------------------------------------------------------------- table types and packages
missing=""
while read -r type; do
  [ -n "$type" ] || continue
  postconf -m | grep -qx -- "$type" || missing="$missing $type"
done < "$D/tabletypes"
if [ -n "$missing" ]; then
  for type in $missing; do
    pkg="postfix-$type"
    if grep -qx -- "$pkg" "$D/packages"; then
      say "ran${TAB}apt-get install -y $pkg"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" > "$D/apt.log" 2>&1 || die_early "apt-get install $pkg failed: $(tail -n 3 "$D/apt.log" | tr '\n' ' ')"
    else
      die_early "the host lacks the $type lookup table type; install the Debian package $pkg (apt-get install $pkg) or allow the apply to install it (installMissingPackages: true)"
    fi
  done
fi

# ---------------------------------------------------------------- backup
mkdir -p "$D/backup/files" "$D/stage"
cp -p "$C/main.cf" "$D/backup/main.cf" || die_early "cannot back up $C/main.cf"
cp -p "$C/master.cf" "$D/backup/master.cf" || die_early "cannot back up $C/master.cf"
backup_path() {
  id=$(path_id "$1")
  [ -f "$1" ] && cp -p "$1" "$D/backup/files/$id"
  for s in .db .lmdb .cdb; do [ -f "$1$s" ] && cp -p "$1$s" "$D/backup/files/$id$s"; done
  return 0
}
while IFS="$TAB" read -r op path rest; do backup_path "$path"; done < "$D/plan.files"
while IFS="$TAB" read -r kind path rest; do backup_path "$path"; done < "$D/plan.hooks"
step backup

# ---------------------------------------------------------------- stage and validate main.cf/master.cf
set --
for d in dynamicmaps.cf.d postfix-files.d; do [ -d "$C/$d" ] && set -- "$@" "$C/$d"; done
cp -rp "$C"/*.cf "$@" "$D/stage/"
edit_failed() { say "error${TAB}$1"; say "result${TAB}failed"; rm -rf "$D/stage"; exit 1; }
: > "$D/edits.set"; : > "$D/edits.del"; : > "$D/edits.mset"; : > "$D/edits.mdel"
while IFS= read -r line; do
  case "$line" in "e${TAB}"*) printf '%s\n' "${line#e${TAB}}" >> "$D/edits.set" ;; "x${TAB}"*) printf '%s\n' "${line#x${TAB}}" >> "$D/edits.del" ;; esac
done < "$D/plan.main"
while IFS= read -r line; do
  case "$line" in "m${TAB}"*) printf '%s\n' "${line#m${TAB}}" >> "$D/edits.mset" ;; "x${TAB}"*) printf '%s\n' "${line#x${TAB}}" >> "$D/edits.mdel" ;; esac
done < "$D/plan.master"
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
run_postconf_batch -e "$D/edits.set"
run_postconf_batch -X "$D/edits.del"
run_postconf_batch -M "$D/edits.mset"
run_postconf_batch -MX "$D/edits.mdel"
touch -d '10 seconds ago' "$D/stage/main.cf" "$D/stage/master.cf"
postconf -c "$D/stage" -n > /dev/null 2> "$D/validate.err"
postconf -c "$D/stage" -M > /dev/null 2>> "$D/validate.err"
if [ -s "$D/validate.err" ] && grep -q 'warning:\|fatal:\|error:' "$D/validate.err"; then
  edit_failed "the new configuration does not validate (nothing was changed on the host): $(grep 'warning:\|fatal:\|error:' "$D/validate.err" | sort -u | head -c 2000 | tr '\n' ' ')"
fi
if command -v script >/dev/null 2>&1; then
  # postfix writes its errors to stderr only on a terminal: give it one.
  script -qec "postfix -c '$D/stage' check" /dev/null > "$D/check.out" 2>&1 < /dev/null
  check_rc=$?
else
  postfix -c "$D/stage" check > "$D/check.out" 2>&1; check_rc=$?
fi
[ "$check_rc" -eq 0 ] || edit_failed "postfix check failed on the new configuration (nothing was changed on the host): $(tr -d '\r' < "$D/check.out" | head -c 2000 | tr '\n' ' ')"
say "ran${TAB}postfix check"
step validate

# ---------------------------------------------------------------- go live (with rollback)
WAS_RUNNING=no
postfix -c "$C" status > /dev/null 2>&1 && WAS_RUNNING=yes
ROLLBACK_NEEDED=no
rollback() {
  say "error${TAB}$1"
  if [ "$ROLLBACK_NEEDED" = yes ]; then
    cp -p "$D/backup/main.cf" "$C/main.cf.cdktf-restore" && mv -f "$C/main.cf.cdktf-restore" "$C/main.cf"
    cp -p "$D/backup/master.cf" "$C/master.cf.cdktf-restore" && mv -f "$C/master.cf.cdktf-restore" "$C/master.cf"
    touch -d '10 seconds ago' "$C/main.cf" "$C/master.cf"
    restore_paths() {
      while IFS="$TAB" read -r op path rest; do
        id=$(path_id "$path")
        for s in "" .db .lmdb .cdb; do
          if [ -f "$D/backup/files/$id$s" ]; then cp -p "$D/backup/files/$id$s" "$path$s.cdktf-restore" && mv -f "$path$s.cdktf-restore" "$path$s"
          else rm -f "$path$s"; fi
        done
        rm -f "$path.cdktf-new" "$path.cdktf-new.db" "$path.cdktf-new.lmdb" "$path.cdktf-new.cdb"
      done < "$1"
    }
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
ROLLBACK_NEEDED=yes

place_file() {
  path=$1 mode=$2 owner=$3 group=$4 sha=$5 postmap=$6
  dir=$(dirname "$path")
  mkdir -p "$dir" || rollback "cannot create $dir"
  new="$path.cdktf-new"
  if [ -f "$D/payload/$sha" ]; then cp "$D/payload/$sha" "$new" || rollback "cannot write $new"
  else cp -p "$path" "$new" || rollback "cannot copy $path"; fi
  got=$(sha256sum < "$new" | cut -c1-64)
  [ "$got" = "$sha" ] || rollback "content of $path arrived damaged (sha256 $got, expected $sha)"
  chown "$owner:$group" "$new" || rollback "chown $owner:$group $path failed"
  chmod "$mode" "$new" || rollback "chmod $mode $path failed"
  suffix=$(index_suffix "$postmap")
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
    cp -p "$S/orig/$id" "$path.cdktf-new" || rollback "cannot restore $path"
    if [ -n "$suffix" ]; then build_index "$postmap" "$path.cdktf-new" 2>/dev/null && mv -f "$path.cdktf-new$suffix" "$path$suffix"; fi
    mv -f "$path.cdktf-new" "$path"
  else
    rm -f "$path"; [ -n "$suffix" ] && rm -f "$path$suffix"
  fi
  say "changed${TAB}file${TAB}$path"
}
while IFS="$TAB" read -r op a b c d e f; do
  case "$op" in
    f) place_file "$a" "$b" "$c" "$d" "$e" "$f" ;;
    r) revert_file "$a" "$b" "$c" ;;
  esac
done < "$D/plan.files"

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
    *) rollback "unknown hook kind $kind" ;;
  esac
done < "$D/plan.hooks"
step files

for f in main.cf master.cf; do
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
step swap

# ---------------------------------------------------------------- reload and verify
# master handles SIGHUP in its event loop: it logs "reload", then re-reads main.cf and master.cf
# and binds new listeners; a bind failure is fatal and it exits. The log line comes first, so it
# proves only that the reload began. A second SIGHUP is the barrier: master logs its "reload" only
# after the first refresh has finished. Seeing both lines with master still alive proves the new
# configuration is running. (Without a mail log we can read: wait a second and look.)
# One postconf call for both: the log Postfix writes (if we can read it) and master's pid.
reload_probe() {
  set -- $(postconf -c "$C" -h queue_directory maillog_file 2>/dev/null)
  q=${1:-} f=${2:-} LOG="" PID=""
  if [ -n "$f" ] && [ -f "$f" ]; then LOG=$f; elif [ -f /var/log/mail.log ]; then LOG=/var/log/mail.log; fi
  [ -n "$q" ] && [ -f "$q/pid/master.pid" ] && read -r PID < "$q/pid/master.pid"
  OFFSET=0; [ -n "$LOG" ] && OFFSET=$(stat -c %s "$LOG")
}
wait_for_reload_ack() {
  log=$1 offset=$2 pid=$3 i=0 hup_sent=no
  if [ -z "$log" ] || [ -z "$pid" ]; then sleep 1; return; fi
  while [ "$i" -lt 150 ]; do
    kill -0 "$pid" 2>/dev/null || return 0
    n=$(tail -c +"$((offset + 1))" "$log" 2>/dev/null | grep -c "/master\[$pid\]: reload")
    if [ "$n" -ge 2 ]; then return 0; fi
    if [ "$n" -ge 1 ] && [ "$hup_sent" = no ]; then kill -HUP "$pid" 2>/dev/null; hup_sent=yes; fi
    sleep 0.05; i=$((i + 1))
  done
  return 1
}
if [ "$ACTION" = destroy ] && [ "$WAS_RUNNING" = no ]; then :
elif [ "$WAS_RUNNING" = yes ]; then
  reload_probe
  postfix -c "$C" reload > "$D/reload.out" 2>&1 || rollback "postfix reload failed: $(head -c 1000 "$D/reload.out" | tr '\n' ' ')"
  say "ran${TAB}postfix reload"
  wait_for_reload_ack "$LOG" "$OFFSET" "$PID" || rollback "master did not acknowledge the reload within 7 seconds (see the mail log); the previous configuration was restored"
  if [ -n "$PID" ]; then alive() { kill -0 "$PID" 2>/dev/null; }; else alive() { postfix -c "$C" status > /dev/null 2>&1; }; fi
  alive || rollback "Postfix stopped after the reload (see the mail log, e.g. a port already in use); the previous configuration was restored"
else
  postfix -c "$C" start > "$D/reload.out" 2>&1 || rollback "postfix start failed: $(head -c 1000 "$D/reload.out" | tr '\n' ' ')"
  say "ran${TAB}postfix start"
  sleep 0.3
  postfix -c "$C" status > /dev/null 2>&1 || rollback "Postfix stopped right after starting (see the mail log); the previous configuration was restored"
fi
step reload

finish_records
if [ "$ACTION" = destroy ]; then rm -rf "$S"; say "result${TAB}removed"; else save_fingerprint; say "result${TAB}applied"; fi
exit 0
