# cdktf-postfix remote transaction: helpers every part uses (sourced by transaction.sh).

# The runner reads one event a line; a closed stdout must not stop the transaction halfway.
say() { printf '%s\n' "$*" 2>/dev/null || :; }
# The runner timestamps each step line as it arrives; "cpu" adds this shell's and its reaped
# children's CPU so far (times(1) of sh, no process started), for the benchmarks' host-side timeline.
step() {
  say "step${TAB}$1"
  times > "$D/times" 2>/dev/null && { read -r su ss; read -r cu cs; } < "$D/times" && say "cpu${TAB}$1${TAB}$su $ss $cu $cs"
}
read_first() { v=""; [ -f "$1" ] && read -r v < "$1"; printf '%s' "$v"; }
die_early() { say "error${TAB}$*"; say "result${TAB}failed"; exit 1; }
# The index file postmap(1) builds beside a table of this type, into $SUFFIX (empty: read directly,
# no index). Builtins only, like everything a loop over files calls.
set_suffix() { case "${1#postalias:}" in hash|btree) SUFFIX=.db ;; lmdb) SUFFIX=.lmdb ;; cdb) SUFFIX=.cdb ;; *) SUFFIX="" ;; esac; }
# Builds the index of $2 as $1 says: postmap TYPE, or postalias for "postalias:TYPE" (aliases(5) syntax).
build_index() { case "$1" in postalias:*) postalias "${1#postalias:}:$2" ;; *) postmap "$1:$2" ;; esac; }
# A fixed-length name for a path, for backups and records kept in one flat directory, into $PATH_ID:
# the first 32 hex digits of the path's sha256.
path_id() { PATH_ID=$(printf '%s' "$1" | sha256sum); PATH_ID=${PATH_ID%% *}; PATH_ID=${PATH_ID%????????????????????????????????}; }
# The directory of absolute path $1, into $DIR (dirname(1) without a process).
dir_of() { DIR=${1%/*}; [ -n "$DIR" ] || DIR=/; }
# Is line $1 in the newline-separated list $2?
listed() { case "
$2
" in *"
$1
"*) return 0 ;; esac; return 1; }
# Octal mode without leading zeros, as stat %a prints it, into $MODE.
strip_mode() { MODE=$1; while :; do case "$MODE" in 0?*) MODE=${MODE#0} ;; *) break ;; esac; done; }
# A path that is a symbolic link, or exists and is not a regular file: writing there would reach
# something the bundle does not name.
unsafe_path() { [ -L "$1" ] || { [ -e "$1" ] && [ ! -f "$1" ]; }; }
refuse_unsafe() {
  for p in "$@"; do
    unsafe_path "$p" && die_early "refusing $p: it is a symbolic link or not a regular file (nothing was changed); replace it with a regular file or manage another path"
  done
  return 0
}
