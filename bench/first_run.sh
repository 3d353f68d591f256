#!/bin/bash
# Benchmark: `make run` from a fresh clone of this repository's HEAD to its first answer, step by
# step — the seconds at which each step's output appears: the install (.venv/.installed), the
# model conversion, the ONNX export and its int8 quantisation (var/models), the seed's index
# (var/index/current), the chat listening on :7860, and the first `qa ask` answered (by it).
#
#     bash bench/first_run.sh            # needs port 7860 free; leaves the clone in a temp folder
#
# Uses the package cache and local wheels pip is configured with; nothing is downloaded twice.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
clone=$(mktemp -d /tmp/qa-first-run-XXXX)
git clone -q "$repo" "$clone"
cd "$clone"
start=$(date +%s.%N)
elapsed() { printf '%-16s %6.1f s\n' "$1" "$(echo "$(date +%s.%N) - $start" | bc)"; }
make run > make-run.log 2>&1 &
runner=$!
trap 'pkill -TERM -f "$clone/.venv/bin/qa serve" || true; kill $runner 2>/dev/null || true' EXIT
declare -A seen
step() {  # name, test: printed once, the first time the test holds
  if [ -z "${seen[$1]:-}" ] && eval "$2"; then seen[$1]=1; elapsed "$1"; fi
}
until [ -n "${seen[listening]:-}" ]; do
  kill -0 $runner 2>/dev/null || { echo "make run stopped; see $clone/make-run.log"; exit 1; }
  step installed "[ -f .venv/.installed ]"
  step converted "compgen -G 'var/models/multilingual-e5-small-*/modules.json' >/dev/null"
  step exported "compgen -G 'var/models/exported/*-onnx/model.onnx' >/dev/null"
  step quantised "compgen -G 'var/models/exported/*-onnx-int8-*/model.onnx' >/dev/null"
  step indexed "[ -e var/index/current ]"
  step listening "(echo > /dev/tcp/127.0.0.1/7860) 2>/dev/null"
  sleep 0.2
done
.venv/bin/qa ask "上半年代销工银瑞信基金多少？" | head -1
elapsed "first answer"
