# cdktf-postfix remote transaction: file targets only under the configuration directory and the
# roots the bundle declares (sourced by transaction.sh). The runner and synth check the same; this
# holds for any stage that reaches the host. Builtins only: it runs on every connection.

# Is $1 the root $2 or below it?
under_root() { r=${2%/}; case "$1" in "$r"|"$r"/*) return 0 ;; esac; [ -z "$r" ]; }
# An absolute path without "." or ".." segments, as synth requires (lib/model/validate-host.ts):
# the journal keeps backups at $J/backup + the target's path (journal.sh).
normal_path() { case "$1" in */./*|*/../*|*/.|*/..|*//*|[!/]*|"") return 1 ;; esac; [ "$1" = / ] || [ "${1%/}" = "$1" ]; }
refuse_outside_roots() {
  normal_path "$C" || die_early "refusing the configuration directory $C: it must be an absolute path without \".\" or \"..\" segments (nothing was changed); fix configDirectory"
  [ -s "$D/file_roots" ] || printf '%s\n' "$C" > "$D/file_roots"
  for list in files.list hooks.list; do
    while IFS="$TAB" read -r a b rest; do
      if [ "$list" = files.list ]; then p=$a; else p=$b; fi
      [ -n "$p" ] || continue
      normal_path "$p" || die_early "refusing $p: it must be an absolute path without \".\" or \"..\" segments (nothing was changed); name the file by its absolute path"
      inside=no
      while read -r root; do under_root "$p" "$root" && { inside=yes; break; }; done < "$D/file_roots"
      [ "$inside" = yes ] && continue
      roots=""; while read -r root; do roots="$roots${roots:+, }$root"; done < "$D/file_roots"
      die_early "refusing $p: it is outside the directories this host may write to ($roots) (nothing was changed); put it under $C or declare its directory in fileRoots"
    done < "$D/$list"
  done
}
