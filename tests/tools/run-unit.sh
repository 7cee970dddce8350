#!/bin/sh
# Runs each unit test binary, sums their "N passed, N failed" lines.
tp=0; tf=0; rc=0
for t in "$@"; do
	out=$("$t" 2>&1); r=$?
	printf '%s\n' "$out" | grep -v '^ok ' 
	line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
	p=$(echo "$line" | cut -d' ' -f1); f=$(echo "$line" | cut -d' ' -f3)
	[ -z "$p" ] && { p=0; f=1; echo "$t: no summary (crashed?)"; }
	[ $r -ne 0 ] && [ "$f" = 0 ] && f=1
	tp=$((tp + p)); tf=$((tf + f))
	[ $r -ne 0 ] && rc=1
done
echo "unit:"
echo "$tp passed, $tf failed"
[ -n "$PB_SUMMARY" ] && echo "unit $tp $tf" >>"$PB_SUMMARY"
exit $rc
