# cdktf-postfix remote transaction: helpers every part uses (sourced by transaction.sh).

# The runner reads one event a line; a closed stdout must not stop the transaction halfway.
say() { printf '%s\n' "$*" 2>/dev/null || :; }
# The runner timestamps each step line as it arrives.
step() { say "step${TAB}$1"; }
read_first() { v=""; [ -f "$1" ] && read -r v < "$1"; printf '%s' "$v"; }
die_early() { say "error${TAB}$*"; say "result${TAB}failed"; exit 1; }
# The index file postmap(1) builds beside a table of this type (empty: read directly, no index).
index_suffix() { case "$1" in hash|btree) echo .db ;; lmdb) echo .lmdb ;; cdb) echo .cdb ;; *) echo "" ;; esac; }
# A fixed-length name for a path, for backups and records kept in one flat directory.
path_id() { printf '%s' "$1" | sha256sum | cut -c1-32; }
