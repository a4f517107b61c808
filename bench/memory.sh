#!/usr/bin/env bash
# Peak resident memory of loading a model and running its first forwards (attneval bench with tiny lengths), against the
# bytes of its weights. Ratio = (peak − baseline) / weight bytes, where the baseline is the same command on stories260K
# (1 MB of weights: the process, .NET, libtorch). Issue 13's bound: ratio ≤ 1.3.
# Usage: bench/memory.sh            (needs ../shared/data for the tokenizers; ~6 GB of free disk; a few minutes)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SHARED=${ATTNEVAL_SHARED_DATA:-../shared/data}
WORK=$(mktemp -d /tmp/attneval-memory-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
dotnet build attneval.slnf -c Release -v q -nologo >/dev/null
dotnet build bench/AttnEval.Bench -c Release -v q -nologo >/dev/null
HOST="dotnet artifacts/Release/attneval/attneval.dll"
MAKE="dotnet bench/AttnEval.Bench/bin/Release/net10.0/AttnEval.Bench.dll"

peak_kb() { /usr/bin/time -f '%M' $HOST bench "$@" --prompt-tokens 8 --new-tokens 2 --score-tokens 8 --repeats 1 2>&1 >/dev/null | tail -1; }
median3() { local a b c; a=$(peak_kb "$@"); b=$(peak_kb "$@"); c=$(peak_kb "$@"); printf '%s\n' "$a" "$b" "$c" | sort -n | sed -n 2p; }

base=$(median3 --model "$SHARED/models/stories260K/stories260K.bin")
printf '%-34s %10s %10s %8s\n' model weights_MB peak_MB ratio
printf '%-34s %10s %10.0f %8s\n' "stories260K (baseline)" 1 "$(echo "$base/1024" | bc -l)" "-"

row() { # name weight_bytes peak_kb
  printf '%-34s %10.0f %10.0f %8.2f\n' "$1" "$(echo "$2/1048576" | bc -l)" "$(echo "$3/1024" | bc -l)" "$(echo "($3-$base)*1024/$2" | bc -l)"
}

w=$($MAKE hf llama-110m F32 "$WORK/llama-110m")
cp "$SHARED/tokenizers/mistral/tokenizer.json" "$SHARED/tokenizers/mistral/tokenizer_config.json" "$WORK/llama-110m/"
row "110M fp32 safetensors" "$w" "$(median3 --model "$WORK/llama-110m")"

w=$($MAKE llama2c llama-110m "$WORK/llama-110m.bin")
row "110M fp32 llama2.c" "$w" "$(median3 --model "$WORK/llama-110m.bin" --tokenizer "$WORK/llama-110m")"
rm -rf "$WORK/llama-110m" "$WORK/llama-110m.bin"

w=$($MAKE hf llama-3.2-1b BF16 "$WORK/llama-1b")
cp "$SHARED/tokenizers/llama3/tokenizer.json" "$SHARED/tokenizers/llama3/tokenizer_config.json" "$WORK/llama-1b/"
row "Llama-3.2-1B shape bf16 (bf16)" "$w" "$(median3 --model "$WORK/llama-1b" --dtype bfloat16)"
row "Llama-3.2-1B shape bf16 (fp32)" "$((w * 2))" "$(median3 --model "$WORK/llama-1b" --dtype float32)"
