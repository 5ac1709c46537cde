# cdktf-postfix: the reconciliation plan for main.cf or master.cf (POSIX awk; mawk and gawk).
#
#   awk -v SET=e -f plan.awk CURRENT ORIGINALS DESIRED REMOVALS    (main.cf)
#   awk -v SET=m -f plan.awk CURRENT ORIGINALS DESIRED REMOVALS    (master.cf)
#   awk -v SET=em -v OUT_E=FILE -v OUT_M=FILE -f plan.awk MAIN_CURRENT MAIN_ORIGINALS MAIN_DESIRED
#       MAIN_REMOVALS MASTER_CURRENT MASTER_ORIGINALS MASTER_DESIRED MASTER_REMOVALS
#                   both in one run (what transaction.sh does: one process), each plan to its file
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

BEGIN {
  FS = "\t"
  if (SET == "em") { nsets = 2; code[1] = "e"; code[2] = "m"; out[1] = OUT_E; out[2] = OUT_M }
  else { nsets = 1; code[1] = SET; out[1] = "" }
}

# master.cf entries compare with runs of blanks collapsed: postconf -M pads its columns.
function norm(line) { gsub(/[ \t]+/, " ", line); sub(/^ /, "", line); sub(/ $/, "", line); return line }
function emit(s, line) { if (out[s] == "") print line; else print line > out[s] }

# Which plan (s: 1 main or the only one, 2 master) and which input (r: 1-4) this file is.
FNR == 1 { for (i = 1; i < ARGC; i++) if (FILENAME == ARGV[i]) { s = int((i - 1) / 4) + 1; r = (i - 1) % 4 + 1; break } }
r == 1 && code[s] == "m" { line = norm($0); if (line == "") next; split(line, w, " "); cur[s, w[1] "/" w[2]] = line; next }
r == 1 {
  # A value may itself contain " = ": the name ends at the first one.
  i = index($0, " = ")
  if (i) cur[s, substr($0, 1, i - 1)] = substr($0, i + 3)
  else if ($0 ~ / =$/) cur[s, substr($0, 1, length($0) - 2)] = ""
  next
}
r == 2 { origstate[s, $1] = $2; origval[s, $1] = substr($0, length($1) + length($2) + 3); next }
r == 3 {
  i = index($0, "="); n = substr($0, 1, i - 1); v = substr($0, i + 1)
  want[s, n] = (code[s] == "m") ? norm(v) : v; order[s, ++nw[s]] = n
  next
}
r == 4 { if ($0 != "") { rm[s, $0] = 1; rorder[s, ++nr[s]] = $0 }; next }

function remember(s, n) {
  if (!((s, n) in origstate)) emit(s, "o\t" n "\t" (((s, n) in cur) ? "set" : "unset") "\t" (((s, n) in cur) ? cur[s, n] : ""))
}

END {
  for (s = 1; s <= nsets; s++) {
    if (out[s] != "") printf "" > out[s]
    for (k = 1; k <= nw[s]; k++) {
      n = order[s, k]
      remember(s, n)
      if (!((s, n) in cur) || cur[s, n] != want[s, n]) emit(s, code[s] "\t" n "=" want[s, n])
    }
    for (k = 1; k <= nr[s]; k++) {
      n = rorder[s, k]
      remember(s, n)
      if ((s, n) in cur) emit(s, "x\t" n)
    }
  }
  # Names managed before and now neither wanted nor removed: back to what the host had.
  for (key in origstate) {
    split(key, kp, SUBSEP); s = kp[1]; n = kp[2]
    if (((s, n) in want) || ((s, n) in rm)) continue
    if (origstate[s, n] == "set") { if (!((s, n) in cur) || cur[s, n] != origval[s, n]) emit(s, code[s] "\t" n "=" origval[s, n]) }
    else if ((s, n) in cur) emit(s, "x\t" n)
    emit(s, "d\t" n)
  }
}
