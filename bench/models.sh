#!/bin/sh
# Inference latency of every TensorFlow Lite model in the shared assets that
# vigil loads, at 1 and 2 threads, as a table. Prints figures; never fails.
# usage: bench/models.sh [BUILD_DIR] [RUNS]
BUILD=${1:-build}
RUNS=${2:-50}
ASSETS=${VIGIL_ASSETS:-$(dirname "$0")/../../shared/assets}
VIGIL="$BUILD/vigil"

printf '%-48s %7s %10s %10s %10s %9s\n' model threads "min ms" "p50 ms" "p90 ms" "GFLOP/s"
for model in "$ASSETS"/models/tflite/*.tflite; do
	name=$(basename "$model")
	for threads in 1 2; do
		line=$("$VIGIL" bench "$model" --threads "$threads" --runs "$RUNS" 2>&1)
		if [ $? -ne 0 ]; then
			printf '%-48s %7s   does not load: %s\n' "$name" "$threads" "$(echo "$line" | head -1 | cut -c1-90)"
			break
		fi
		echo "$line" | sed -n 's/.*min \([0-9.]*\) ms  p50 \([0-9.]*\) ms  p90 \([0-9.]*\) ms.*  \([0-9.]*\) GFLOP\/s.*/\1 \2 \3 \4/p' |
			while read -r mn p50 p90 gf; do
				printf '%-48s %7s %10s %10s %10s %9s\n' "$name" "$threads" "$mn" "$p50" "$p90" "$gf"
			done
	done
done
