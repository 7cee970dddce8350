#!/bin/sh
# Sums the "suite passed failed" lines that make test's runners wrote and
# ends with the total; fails when a suite failed or did not report.
f=$1
tp=0; tf=0
echo "summary:"
n=$(grep -c '' "$f" 2>/dev/null || echo 0)
while read -r suite p fl; do
	echo "  $suite: $p passed, $fl failed"
	tp=$((tp + p)); tf=$((tf + fl))
done <"$f"
# unit + integ twice (plain and sanitized) and fuzz once.
if [ "$n" -ne 5 ]; then
	echo "  expected 5 suite reports, got $n (a suite crashed or did not run)"
	tf=$((tf + 1))
fi
echo "total:"
echo "$tp passed, $tf failed"
[ "$tf" -eq 0 ]
