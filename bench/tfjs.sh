#!/bin/sh
# vigil's engine against TensorFlow.js itself on the TensorFlow.js graph
# models of the demo (CenterNet 512x512, NanoDet 416x416): `vigil bench` at 1
# and 2 threads beside TensorFlow.js 4.22 in Node (bench/tfjs_bench.mjs) on
# its cpu backend (plain JavaScript) and its wasm backend (XNNPACK in
# WebAssembly, SIMD) at 1 thread and at its default. Same model file, same
# input (vigil bench's fixed pseudo-random one), p50 and min of timed runs after a
# warm-up. Target: vigil at least 5x faster than wasm, one thread each.
#
# This machine's speed drifts from minute to minute, and a ratio of two runs
# taken a minute apart carries that drift. So the 1-thread ratio is also
# measured in paired rounds: vigil, then wasm, straight after each other,
# TFJS_ROUNDS times; each round gives the ratio of its two p50s, and the
# median round is the figure the target is checked against.
# Prints figures; it fails only when it cannot run at all.
#
# usage: bench/tfjs.sh [BUILD_DIR] [RUNS]
# Environment: VIGIL_HUMAN_MODELS (default: the cache of scripts/fetch-demo-assets),
# TFJS_RUNS (wasm timed runs, default 20), TFJS_CPU_RUNS (default 3: ~10 s each),
# TFJS_ROUNDS (paired rounds, default 7; 0 leaves them out).
here=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-build}
RUNS=${2:-50}
TFJS_RUNS=${TFJS_RUNS:-20}
TFJS_CPU_RUNS=${TFJS_CPU_RUNS:-3}
TFJS_ROUNDS=${TFJS_ROUNDS:-7}
VIGIL="$BUILD/vigil"
CACHE=${VIGIL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vigil}
MODELS=${VIGIL_HUMAN_MODELS:-$CACHE/human-models-3.0.4/models}
ORACLE=$here/../tests/oracle

if [ ! -f "$MODELS/centernet.json" ]; then
	echo "tfjs: no models in $MODELS (run scripts/fetch-demo-assets)" >&2
	exit 1
fi
if ! command -v node >/dev/null 2>&1 || [ ! -d "$ORACLE/node_modules/@tensorflow/tfjs-backend-wasm" ]; then
	echo "tfjs: TensorFlow.js is not installed in tests/oracle (run scripts/install-deps)" >&2
	exit 1
fi

p50_of() { sed -n 's/.* p50 \([0-9.]*\) ms.*/\1/p' | head -n 1; }
min_of() { sed -n 's/.* min \([0-9.]*\) ms.*/\1/p' | head -n 1; }
threads_of() { sed -n 's/.*, threads \([0-9]*\),.*/\1/p' | head -n 1; }

vigil_line() { # MODEL THREADS
	out=$("$VIGIL" bench "$1" --threads "$2" --runs "$RUNS" 2>&1)
	if [ $? -ne 0 ]; then
		echo "  vigil $(basename "$1") --threads $2 does not run: $(echo "$out" | head -n 1 | cut -c1-100)" >&2
		return
	fi
	echo "  $out" >&2
	echo "$out"
}

tfjs_line() { # MODEL BACKEND THREADS RUNS WARMUP
	out=$(node "$here/tfjs_bench.mjs" "$1" --backend "$2" --threads "$3" --runs "$4" --warmup "$5" 2>&1)
	if [ $? -ne 0 ]; then
		echo "  tfjs $2 on $(basename "$1") does not run: $(echo "$out" | tail -n 1 | cut -c1-100)" >&2
		return
	fi
	echo "  $out" >&2
	echo "$out"
}

ratio() { # A B [DIGITS] -> A/B to DIGITS decimals (default 1), or n/a
	if [ -n "$1" ] && [ -n "$2" ]; then
		awk -v a="$1" -v b="$2" -v d="${3:-1}" 'BEGIN { if (b > 0) printf "%.*fx", d, a / b; else print "n/a" }'
	else
		echo n/a
	fi
}

# Paired rounds on MODEL: prints "MEDIAN LOWEST HIGHEST" of the per-round ratios wasm p50 / vigil p50, or nothing.
paired_rounds() { # MODEL
	r=0
	ratios=""
	while [ "$r" -lt "$TFJS_ROUNDS" ]; do
		r=$((r + 1))
		v=$("$VIGIL" bench "$1" --threads 1 --runs 20 --warmup 3 2>/dev/null | p50_of)
		w=$(node "$here/tfjs_bench.mjs" "$1" --backend wasm --threads 1 --runs 7 --warmup 2 2>/dev/null | p50_of)
		q=$(ratio "$w" "$v" 2)
		echo "  round $r: vigil p50 ${v:-?} ms, wasm p50 ${w:-?} ms: $q" >&2
		case $q in *x) ratios="$ratios ${q%x}" ;; esac
	done
	[ -n "$ratios" ] || return
	echo "$ratios" | tr ' ' '\n' | sed '/^$/d' | sort -n |
		awk '{ v[NR] = $1 } END { printf "%s %s %s\n", v[int((NR + 1) / 2)], v[1], v[NR] }'
}

table=$(mktemp)
trap 'rm -f "$table"' EXIT
for name in centernet nanodet; do
	model=$MODELS/$name.json
	echo "$name:"
	v1_line=$(vigil_line "$model" 1)
	v1=$(echo "$v1_line" | p50_of)
	v1min=$(echo "$v1_line" | min_of)
	v2=$(vigil_line "$model" 2 | p50_of)
	cpu=$(tfjs_line "$model" cpu 0 "$TFJS_CPU_RUNS" 1 | p50_of)
	w1_line=$(tfjs_line "$model" wasm 1 "$TFJS_RUNS" 3)
	w1=$(echo "$w1_line" | p50_of)
	w1min=$(echo "$w1_line" | min_of)
	wd_line=$(tfjs_line "$model" wasm 0 "$TFJS_RUNS" 3)
	wd=$(echo "$wd_line" | p50_of)
	wdt=$(echo "$wd_line" | threads_of)
	x=$(ratio "$w1" "$v1")
	xmin=$(ratio "$w1min" "$v1min")
	paired=""
	if [ "$TFJS_ROUNDS" -gt 0 ]; then
		echo "  paired rounds (vigil 1t, then wasm 1t):" >&2
		paired=$(paired_rounds "$model")
	fi
	pmed=$(echo "$paired" | cut -d' ' -f1)
	prange=$(echo "$paired" | awk 'NF == 3 { printf "%s-%s", $2, $3 }')
	printf '%-10s %10s %10s %12s %12s %16s %14s %10s %18s\n' "$name" "${v1:--}" "${v2:--}" "${cpu:--}" "${w1:--}" \
		"${wd:--}${wdt:+ (${wdt}t)}" "$x" "$xmin" "${pmed:+${pmed}x ($prange)}" >>"$table"
	printf 'RESULT\ttfjs_%s_vigil_p50_1t\t%s\tms\t\n' "$name" "${v1:-n/a}"
	printf 'RESULT\ttfjs_%s_wasm_p50_1t\t%s\tms\t\n' "$name" "${w1:-n/a}"
	printf 'RESULT\ttfjs_%s_speedup_vs_wasm_1t\t%s\tx\t>= 5\n' "$name" "${x%x}"
	printf 'RESULT\ttfjs_%s_speedup_vs_wasm_1t_min\t%s\tx\t>= 5\n' "$name" "${xmin%x}"
	printf 'RESULT\ttfjs_%s_speedup_vs_wasm_1t_paired\t%s\tx\t>= 5\n' "$name" "${pmed:-n/a}"
done

echo
echo "p50 ms per inference (TensorFlow.js in Node $(node --version), cpu = plain JS, wasm = XNNPACK in WebAssembly)"
printf '%-10s %10s %10s %12s %12s %16s %14s %10s %18s\n' model "vigil 1t" "vigil 2t" "tfjs cpu" "tfjs wasm 1t" "tfjs wasm dflt" \
	"wasm1t/vigil1t" "(of mins)" "paired (range)"
cat "$table"
echo "(ratio of the fastest runs beside the ratio of p50s: on a machine shared with other work, the minimum is the steadier figure.)"
echo "(paired: median of $TFJS_ROUNDS rounds of vigil then wasm back to back, each the ratio of its p50s; the target's figure.)"
echo "(tfjs wasm dflt: the backend's own thread count; in Node, TensorFlow.js 4.22 has no threaded wasm, so it is 1.)"
