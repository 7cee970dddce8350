#!/bin/sh
# Runs each libFuzzer binary for N seconds on its seed corpus (copied to a
# scratch directory so the tree's corpus stays small), two at a time.
secs=$1; shift
work=$(mktemp -d)
pass=0; fail=0; pids=""
run_one() {
	b=$1; name=$(basename "$b"); target=${name#fuzz_}
	mkdir -p "$work/$target"
	[ -d "tests/fuzz/corpus/$target" ] && cp -r "tests/fuzz/corpus/$target/." "$work/$target/"
	dict=""
	[ -f "tests/fuzz/$target.dict" ] && dict="-dict=tests/fuzz/$target.dict"
	if "$b" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
		-print_final_stats=0 $dict -artifact_prefix="$work/" \
		"$work/$target" >"$work/$target.log" 2>&1; then
		echo "fuzz $target: ok ($secs s, $(grep -c '' "$work/$target.log") log lines)"
		return 0
	fi
	echo "fuzz $target: FINDING"; tail -n 40 "$work/$target.log"
	return 1
}
set -- "$@"
while [ $# -gt 0 ]; do
	a=$1; shift
	if [ $# -gt 0 ]; then
		b=$1; shift
		run_one "$a" & p1=$!
		run_one "$b" & p2=$!
		if wait $p1; then pass=$((pass+1)); else fail=$((fail+1)); fi
		if wait $p2; then pass=$((pass+1)); else fail=$((fail+1)); fi
	else
		if run_one "$a"; then pass=$((pass+1)); else fail=$((fail+1)); fi
	fi
done
rm -rf "$work"
echo "fuzz:"
echo "$pass passed, $fail failed"
[ -n "$PB_SUMMARY" ] && echo "fuzz $pass $fail" >>"$PB_SUMMARY"
[ $fail -eq 0 ]
