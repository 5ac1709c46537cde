# cdktf-postfix remote entry (POSIX sh): the first program a transaction runs. TRANSACTION_COMMAND
# (lib/apply/remote-script.ts) reads it from the first frame of stdin and evaluates it; it is never
# staged as a file. It answers a no-op apply from the managed record alone, starting no tar and
# creating no file (fast path); anything else is unpacked and run by transaction.sh in this shell.
#
# stdin, after this program's frame:
#   ACTION TAB WANT_SHA TAB CONFIG_DIRECTORY   one line; the same values travel in the tar
#   LENGTH                                     one line, digits only
#   the staging tar, LENGTH bytes, ending with the member END
#   what the transaction itself reads after it (the answer to a held plan, remote/plan.sh)
#
# The fast path holds when the host recorded this very bundle (applied_sha256), no journal is left
# to recover, and the host's managed files hash and stat as recorded after the last apply
# (fingerprint, over the paths in fingerprint.paths, both written by records.sh). Any doubt (a
# record from before fingerprint.paths, the lock held by another apply, a missing file) takes the
# full path, which decides the same question from a complete plan.

TAB='	' # a literal tab (printf in a command substitution would cost a process)
NL='
'

# sha256sum and stat of the paths listed in $1, one a line: the host's side of a no-op, as
# records.sh saves it and as the fast path compares it.
fingerprint_of() {
  (
    list=$1
    set --
    while IFS= read -r p; do set -- "$@" "$p"; done < "$list"
    sha256sum -- "$@" 2>&1
    stat -c '%a %U %G %n' -- "$@" 2>&1
  )
}

# Is the host already where the bundle wants it? $1 config directory, $2 the desired bundle hash.
# Leaves the record's lock (fd 9) held when it answers yes; releases it otherwise.
recorded_unchanged() {
  case $1 in /*) ;; *) return 1 ;; esac
  rec=$1/.cdktf-postfix
  [ -n "$2" ] && [ -f "$rec/applied_sha256" ] && [ -s "$rec/fingerprint" ] && [ -s "$rec/fingerprint.paths" ] && [ -f "$rec/lock" ] || return 1
  applied=; read -r applied < "$rec/applied_sha256" || :
  [ "$applied" = "$2" ] || return 1
  # The lock as transaction.sh takes it (append: no file changes); not waited for here, the full
  # path waits. A journal left by an interrupted transaction is the full path's to recover.
  exec 9>> "$rec/lock" || return 1
  if command -v flock > /dev/null 2>&1; then flock -n 9 || { exec 9>&-; return 1; }; fi
  if [ ! -e "$rec/journal" ]; then
    now=$(fingerprint_of "$rec/fingerprint.paths")
    saved=; while IFS= read -r line; do saved=$saved${saved:+$NL}$line; done < "$rec/fingerprint"
    [ "$now" = "$saved" ] && return 0
  fi
  exec 9>&-
  return 1
}

E_ACTION=; E_SHA=; E_CONF=
IFS=$TAB read -r E_ACTION E_SHA E_CONF || :
if [ "$E_ACTION" = apply ] && recorded_unchanged "$E_CONF" "$E_SHA"; then
  printf 'step\tlock\nresult\tunchanged\n' 2> /dev/null
  exit 0
fi

# The full path: the staging tar into a fresh directory, then the transaction. Only a complete
# transfer (its last member, END, arrived) runs anything.
d=$(mktemp -d /tmp/cdktf-postfix.XXXXXXXX) || exit 70
n=; IFS= read -r n
if case $n in "" | *[!0-9]*) false ;; esac && head -c "$n" | tar -xf - -C "$d" 2> "$d/tar.err" && test -f "$d/END"; then
  set -- "$d"
  . "$d/txn/transaction.sh"
  exit
fi
e=$(head -c 500 "$d/tar.err" 2> /dev/null)
rm -rf "$d"
echo "error${TAB}transfer incomplete: $e"
exit 71
: cdktf-postfix entry end
