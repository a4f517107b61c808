#!/usr/bin/env bash
# Greedy decoding speed of AttnEval against its peers on the same weights (a random llama2.c stories110M-shape model:
# d_model 768, 12 layers, 12 heads, vocab 32000, fp32), same thread count, median of 3:
#   (a) llama2.c's run.c built -O3 -fopenmp (and, for reference, -Ofast -march=native -fopenmp),
#   (b) PyTorch eager with a KV cache (Debian's python3-torch; bench/peer_torch.py).
# Prints one line per engine and the ratios AttnEval / peer. Run it on an idle machine.
# Usage: LLAMA2C_SRC=<checkout of karpathy/llama2.c (run.c, tokenizer.bin)> bench/peers.sh [threads]
# (llama2.c is not part of this repository; fetch it, build it here, do not commit it.) PYTHON: an interpreter with torch
# (default /usr/bin/python3, where Debian's python3-torch installs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SRC=${LLAMA2C_SRC:?set LLAMA2C_SRC to a checkout of karpathy/llama2.c}
T=${1:-$(nproc)}
STEPS=256
WORK=$(mktemp -d /tmp/attneval-peers-XXXXXX)
trap 'rm -rf "$WORK"' EXIT

dotnet build attneval.slnf -c Release -v q -nologo >/dev/null
dotnet build bench/AttnEval.Bench -c Release -v q -nologo >/dev/null
gcc -O3 -fopenmp -o "$WORK/run_o3" "$SRC/run.c" -lm
gcc -Ofast -march=native -fopenmp -o "$WORK/run_fast" "$SRC/run.c" -lm
dotnet bench/AttnEval.Bench/bin/Release/net10.0/AttnEval.Bench.dll llama2c-v0 llama-110m "$WORK/m.bin" >/dev/null
cp "$SRC/tokenizer.bin" "$WORK/tokenizer.bin"

runc() { # binary → median tok/s
  for _ in 1 2 3; do
    OMP_NUM_THREADS=$T "$1" "$WORK/m.bin" -z "$WORK/tokenizer.bin" -t 0 -n $((STEPS + 1)) -i "" 2>&1 >/dev/null | grep -o 'achieved tok/s: [0-9.]*' | awk '{print $3}'
  done | sort -g | sed -n 2p
}
o3=$(runc "$WORK/run_o3")
fast=$(runc "$WORK/run_fast")
torch_json=$("${PYTHON:-/usr/bin/python3}" bench/peer_torch.py "$WORK/m.bin" --threads "$T" --steps $STEPS --repeats 3)
ae_json=$(dotnet artifacts/Release/attneval/attneval.dll bench --model "$WORK/m.bin" --tokenizer "$WORK/tokenizer.bin" \
  --prompt-tokens 1 --new-tokens $STEPS --score-tokens $STEPS --repeats 3 --threads "$T")

python3 - "$o3" "$fast" "$torch_json" "$ae_json" "$T" <<'PY'
import json, sys
o3, fast, torch_json, ae_json, threads = float(sys.argv[1]), float(sys.argv[2]), json.loads(sys.argv[3]), json.loads(sys.argv[4]), sys.argv[5]
ae = ae_json["generate_tokens_per_s"]; cap = ae_json["generate_capture_tokens_per_s"]; cap_ratio = ae_json["generate_capture_ratio"]; pt = torch_json["tokens_per_s"]
print(f"threads {threads}, 256 greedy tokens, median of 3")
print(f"{'engine':40s} {'tok/s':>8s}")
for name, v in [("attneval (torchsharp)", ae), ("attneval with attention capture", cap), ("run.c -O3 -fopenmp", o3),
                ("run.c -Ofast -march=native -fopenmp", fast), (f"pytorch {torch_json['torch']} eager, KV cache", pt)]:
    print(f"{name:40s} {v:8.1f}")
print(f"attneval / run.c -O3            {ae / o3:5.2f}x   (issue 13: >= 1.0)")
print(f"attneval / pytorch eager        {ae / pt:5.2f}x   (issue 13: >= 1.5)")
print(f"attneval / run.c -Ofast native  {ae / fast:5.2f}x")
print(f"capture on / off (paired median) {cap_ratio:5.3f}x  (issue 13: >= 0.95)")
print(f"teacher-forced score tok/s      {ae_json['score_tokens_per_s']:.0f} (capture {ae_json['score_capture_tokens_per_s']:.0f})")
print(f"peak RSS MB: attneval {ae_json['peak_rss_mb']['generate']}, pytorch {torch_json['peak_rss_mb']:.0f}")
PY
