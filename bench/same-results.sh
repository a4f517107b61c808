#!/usr/bin/env bash
# Checks that a change keeps every shipped lab-model recipe's results: builds <old-rev> in a temporary worktree, runs each
# recipe below with the old and the current build (Debug, already built here: dotnet build AttnEval.sln), and compares
# samples.jsonl (bytes) and summary.json (parsed, with the two checkouts' absolute paths made equal and the timing
# section `cost` removed). Prints one line per recipe; exits 1 when any differs.
# Usage: bench/same-results.sh <old-rev> [out-dir]     (about 5 min on 2 cores, plus the old build)
set -euo pipefail
old_rev=${1:?usage: bench/same-results.sh <old-rev> [out-dir]}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${2:-$(mktemp -d /tmp/attneval-same-XXXXXX)}
old_tree="$out/old-tree"
git -C "$repo" worktree add --detach "$old_tree" "$old_rev" >/dev/null
trap 'git -C "$repo" worktree remove --force "$old_tree" >/dev/null 2>&1 || true' EXIT
echo "building $old_rev in $old_tree …" >&2
dotnet build "$old_tree/AttnEval.sln" -v q -nologo >"$out/old-build.log" 2>&1
recipes=(
  "recipes/quickstart.yaml --limit 30"
  "recipes/retrieval-heads.yaml --limit 20 --set metrics.0.ablation_draws=2"
  "recipes/attention-influence.yaml"
  "recipes/safety-heads.yaml"
  "recipes/search-robustness.yaml --limit 10"
)
status=0
for r in "${recipes[@]}"; do
  read -r -a args <<<"$r"
  name=$(basename "${args[0]}" .yaml)
  for side in old new; do
    root=$repo; [ "$side" = old ] && root=$old_tree
    (cd "$root" && dotnet artifacts/Debug/attneval/attneval.dll run "${args[@]}" --set "output.dir=$out/$side/$name" >"$out/$side-$name.log" 2>&1)
  done
  a=$(ls -d "$out/old/$name"/*/ | head -1); b=$(ls -d "$out/new/$name"/*/ | head -1)
  python3 - "$a" "$b" "$name" "$old_tree/" "$repo/" <<'PY' || status=1
import json, sys, filecmp, os
a, b, name, old_root, new_root = sys.argv[1:6]
same_samples = filecmp.cmp(os.path.join(a, "samples.jsonl"), os.path.join(b, "samples.jsonl"), shallow=False)
def load(d, root):
    s = json.loads(open(os.path.join(d, "summary.json")).read().replace(root, "<repo>/"))
    s.pop("cost", None)
    return s
same_summary = load(a, old_root) == load(b, new_root)
print(f"{name}: samples.jsonl {'same' if same_samples else 'DIFFERENT'}, summary.json {'same' if same_summary else 'DIFFERENT'}")
sys.exit(0 if same_samples and same_summary else 1)
PY
done
echo "run folders: $out" >&2
exit $status
