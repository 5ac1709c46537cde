# cdktf-postfix: the reconciliation plan for main.cf or master.cf (POSIX awk; mawk and gawk).
#
#   awk -v SET=e -f plan.awk CURRENT ORIGINALS DESIRED REMOVALS    (main.cf)
#   awk -v SET=m -f plan.awk CURRENT ORIGINALS DESIRED REMOVALS    (master.cf)
#
# CURRENT    main.cf: `postconf -n` output, "name = value" (or "name =" when empty; postconf(1)).
#            master.cf: `postconf -M` output, one entry a line, "service type private unpriv chroot
#            wakeup maxproc command args" (master(5)), columns padded with blanks.
# ORIGINALS  the managed record: name TAB set|unset TAB the value the host had before we managed it.
# DESIRED    name=value lines (master.cf: service/type=entry).
# REMOVALS   names to delete, one a line.
#
# Output, one line each, TAB-separated:
#   SET  name=value             set (SET is "e" for main.cf, "m" for master.cf)
#   x    name                   delete
#   o    name  set|unset  value record the original of a name managed for the first time
#   d    name                   the name stops being managed (after it was put back to its original)
# Every input is data: nothing read here is ever evaluated.

BEGIN { FS = "\t" }

# master.cf entries compare with runs of blanks collapsed: postconf -M pads its columns.
function norm(line) { gsub(/[ \t]+/, " ", line); sub(/^ /, "", line); sub(/ $/, "", line); return line }

FILENAME == ARGV[1] && SET == "m" { line = norm($0); if (line == "") next; split(line, w, " "); cur[w[1] "/" w[2]] = line; next }
FILENAME == ARGV[1] {
  # A value may itself contain " = ": the name ends at the first one.
  i = index($0, " = ")
  if (i) cur[substr($0, 1, i - 1)] = substr($0, i + 3)
  else if ($0 ~ / =$/) cur[substr($0, 1, length($0) - 2)] = ""
  next
}
FILENAME == ARGV[2] { origstate[$1] = $2; origval[$1] = substr($0, length($1) + length($2) + 3); next }
FILENAME == ARGV[3] {
  i = index($0, "="); n = substr($0, 1, i - 1); v = substr($0, i + 1)
  want[n] = (SET == "m") ? norm(v) : v; order[++nw] = n
  next
}
FILENAME == ARGV[4] { if ($0 != "") { rm[$0] = 1; rorder[++nr] = $0 }; next }

function remember(n) {
  if (!(n in origstate)) print "o\t" n "\t" ((n in cur) ? "set" : "unset") "\t" ((n in cur) ? cur[n] : "")
}

END {
  for (k = 1; k <= nw; k++) {
    n = order[k]
    remember(n)
    if (!(n in cur) || cur[n] != want[n]) print SET "\t" n "=" want[n]
  }
  for (k = 1; k <= nr; k++) {
    n = rorder[k]
    remember(n)
    if (n in cur) print "x\t" n
  }
  # Names managed before and now neither wanted nor removed: back to what the host had.
  for (n in origstate) {
    if ((n in want) || (n in rm)) continue
    if (origstate[n] == "set") { if (!(n in cur) || cur[n] != origval[n]) print SET "\t" n "=" origval[n] }
    else if (n in cur) print "x\t" n
    print "d\t" n
  }
}
