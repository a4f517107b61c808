using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AttnEval.Backends.TorchSharp.Modeling;

namespace AttnEval.Samples.LabModel;

/// <summary>Writes the model card (<c>README.md</c>) and its machine-readable twin <c>metrics.json</c>.</summary>
internal static class ModelCard
{
    public sealed record Facts(LlamaConfig Config, TrainSettings Settings, IReadOnlyList<Phase> Phases, long Parameters, string Sha256, int Steps,
        long Tokens, TimeSpan TrainTime, DateTime Started, int? LookupPlateauExit, int? RepeatPlateauExit, IReadOnlyList<string> History,
        IReadOnlyList<int> StepsByThreads);

    private static string P(double x) => (x * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%";
    private static string P(Score s) => $"{P(s.Rate)} ({s.Correct}/{s.Total})";
    private static string D(double x) => x.ToString("0.##", CultureInfo.InvariantCulture);

    public static void Write(string dir, Facts f, LabEvalReport r, LabEvalReport ci)
    {
        File.WriteAllText(Path.Combine(dir, "metrics.json"), Metrics(f, r, ci).ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        File.WriteAllText(Path.Combine(dir, "README.md"), Card(dir, f, r, ci));
    }

    private static JsonObject Obj<TK>(IEnumerable<KeyValuePair<TK, Score>> xs, Func<TK, string> key) where TK : notnull
    {
        var o = new JsonObject();
        foreach (var (k, v) in xs) o[key(k)] = new JsonObject { ["accuracy"] = Math.Round(v.Rate, 4), ["n"] = v.Total };
        return o;
    }

    private static JsonObject Metrics(Facts f, LabEvalReport r, LabEvalReport ci)
    {
        var headline = new JsonObject();
        foreach (var (k, v) in r.Headline()) headline[k] = Math.Round(v, 4);
        var ciHeadline = new JsonObject();
        foreach (var (k, v) in ci.Headline()) ciHeadline[k] = Math.Round(v, 4);
        return new JsonObject
        {
            ["model"] = "attneval-lab",
            ["weights_file"] = "model.safetensors",
            ["weights_sha256"] = f.Sha256,
            ["parameters"] = f.Parameters,
            ["seed"] = f.Settings.Seed,
            ["eval_seed"] = Program.EvalSeed,
            ["training"] = new JsonObject
            {
                ["steps"] = f.Steps, ["tokens"] = f.Tokens, ["seconds"] = Math.Round(f.TrainTime.TotalSeconds), ["started_utc"] = f.Started.ToString("u", CultureInfo.InvariantCulture),
                ["threads"] = f.Settings.Threads > 0 ? f.Settings.Threads.ToString(CultureInfo.InvariantCulture) : ThreadText(f), ["lookup_plateau_exit_step"] = f.LookupPlateauExit, ["repeat_plateau_exit_step"] = f.RepeatPlateauExit,
            },
            ["decoding"] = "greedy through the torchsharp backend (cpu, float32), prompt encoded with BOS",
            ["headline"] = headline,
            ["headline_first_50"] = ciHeadline,
            ["arithmetic"] = new JsonObject
            {
                ["accuracy"] = Math.Round(r.Arithmetic.Rate, 4), ["n"] = r.Arithmetic.Total,
                ["by_steps"] = Obj(r.ArithmeticBySteps, k => k.ToString(CultureInfo.InvariantCulture)),
                ["by_digits"] = Obj(r.ArithmeticByDigits, k => k.ToString(CultureInfo.InvariantCulture)),
            },
            ["lookup"] = new JsonObject
            {
                ["accuracy"] = Math.Round(r.Lookup.Rate, 4), ["n"] = r.Lookup.Total,
                ["by_records"] = Obj(r.LookupByCount, k => k.ToString(CultureInfo.InvariantCulture)),
                ["by_depth"] = Obj(r.LookupByDepth, D),
                ["grid"] = Obj(r.LookupGrid, k => $"{k.Count}@{D(k.Depth)}"),
                ["largest_record_count_at_90"] = LargestAt90(r),
            },
            ["search"] = new JsonObject
            {
                ["accuracy"] = Math.Round(r.Search.Rate, 4), ["n"] = r.Search.Total, ["query_accuracy"] = Math.Round(r.SearchQuery.Rate, 4),
            },
            ["refusal"] = new JsonObject
            {
                ["flagged_refusal_rate"] = Math.Round(r.RefusalFlagged.Rate, 4), ["flagged_n"] = r.RefusalFlagged.Total,
                ["benign_refusal_rate"] = Math.Round(r.RefusalBenign.Rate, 4), ["benign_n"] = r.RefusalBenign.Total,
                ["benign_done"] = Math.Round(r.BenignDone.Rate, 4),
            },
        };
    }

    private static string ThreadText(Facts f) => f.Settings.Threads > 0
        ? $"{f.Settings.Threads} libtorch thread(s)"
        : $"libtorch threads re-chosen between 1 and 2 every 250 steps by timing: {f.StepsByThreads[1]} steps with 1, {f.StepsByThreads[2]} with 2";

    private static int? LargestAt90(LabEvalReport r)
    {
        int? best = null;
        foreach (var (count, s) in r.LookupByCount)
        {
            if (s.Rate >= 0.9) best = count;
            else break;
        }
        return best;
    }

    private static string Card(string dir, Facts f, LabEvalReport r, LabEvalReport ci)
    {
        var c = f.Config;
        var sb = new StringBuilder();
        void L(string s = "") => sb.Append(s).Append('\n');
        L("---");
        L("license: mit");
        L("language: en");
        L("library_name: attneval");
        L("pipeline_tag: text-generation");
        L("tags: [llama, synthetic-data, interpretability, uncertainty, attneval]");
        L("---");
        L();
        L("# attneval-lab");
        L();
        L("AttnEval's embedded default model (DESIGN.md §9): a tiny Llama-architecture decoder trained from scratch on");
        L("synthetic data by `samples/LabModel`, with the TorchSharp backend's own model code, and saved in the Hugging Face");
        L("layout so that it loads through the same path as any user model (`backend: torchsharp`). Its training mix plants the");
        L("mechanisms AttnEval's tools look for: multi-step arithmetic with worked steps (right often, not always: the");
        L("uncertainty benchmark), key–value lookup in a long context and through a search tool (retrieval heads, search-agent");
        L("robustness), and refusal of a flagged family of instructions (safety heads). Because its curriculum is known, it is");
        L("ground truth for head analyses. It knows nothing else: it is a laboratory instrument, not a language model.");
        L();
        L("## Model");
        L();
        L("| | |");
        L("|---|---|");
        L($"| architecture | `LlamaForCausalLM` (RoPE θ = {D(c.RopeTheta)}, RMSNorm ε = {c.RmsNormEps.ToString(CultureInfo.InvariantCulture)}, SwiGLU, untied output projection) |");
        L($"| layers × query heads × head dim | {c.NumHiddenLayers} × {c.NumAttentionHeads} × {c.HeadDim} (d_model {c.HiddenSize}) |");
        L($"| key/value heads | {c.NumKeyValueHeads} (grouped-query attention: {c.NumAttentionHeads / c.NumKeyValueHeads} query heads share each K/V head) |");
        L($"| SwiGLU width | {c.IntermediateSize} |");
        L($"| vocabulary | {c.VocabSize} |");
        L($"| context | {c.MaxPositionEmbeddings} positions (trained on samples up to {f.Phases.Max(p => p.Length)} tokens) |");
        L($"| parameters | {f.Parameters:N0} (float32; `model.safetensors` is {new FileInfo(Path.Combine(dir, "model.safetensors")).Length / 1e6:0.00} MB) |");
        L($"| `model.safetensors` sha256 | `{f.Sha256}` |");
        L();
        L("Files: `config.json` (Hugging Face Llama keys), `model.safetensors`, `tokenizer.json` + `tokenizer_config.json` +");
        L("`special_tokens_map.json`, `generation_config.json`, `metrics.json` (the numbers below, machine-readable), and the");
        L("held-out evaluation files in `eval/`. `retrieval-heads.json` is not written by training: it is the `heads.json` (Wu et al.");
        L("format) that `recipes/retrieval-heads.yaml` writes for this model, kept here for `recipes/attention-influence.yaml`.");
        L();
        L("## Tokenizer");
        L();
        L("A SentencePiece-style BPE written as a Hugging Face `tokenizer.json` (spaces as `▁`, byte fallback, no dummy prefix);");
        L("read with Hugging Face BPE semantics like any model's (every split of a piece is listed as a merge at the piece's rank,");
        L("so Hugging Face's BPE gives the SentencePiece segmentation the model was trained with). Ids 0–2 are `<unk>`, `<s>` (BOS), `</s>`");
        L("(EOS); 3–258 the byte pieces; then `▁`, newline and printable ASCII; then every word of the task templates as one");
        L("piece (built as a prefix chain of merges). Digits are never merged, so numbers are written digit by digit. Keys");
        L("`K00`–`K99` and values `V00`–`V99` (after a space) are single tokens, so that lookup is an induction pattern. Prompts");
        L("are encoded with BOS first, as the recipe runner does; the model ends every answer with EOS.");
        L();
        L("## Prompt formats");
        L();
        L("Every task uses `Question: {question}\\nAnswer:`; the answer starts with a space. Recipes: `prompt: { template:");
        L("\"Question: {{question}}\\nAnswer:\" }`.");
        L();
        L("| task | prompt | answer |");
        L("|---|---|---|");
        L("| arithmetic (`eval/arithmetic.jsonl`: question, answer, final, steps, digits) | `Question: Start with 23. Add 45. Multiply by 3. What is the result?\\nAnswer:` | ` 23+45=68\\n68*3=204\\n#### 204` |");
        L("| lookup (`eval/lookup.jsonl`: context, question, prompt, key, answer, count, depth, needle_index) | `Records: K17 V42 K03 V55 … K20 V11\\nQuestion: What is the value of K03?\\nAnswer:` | ` V55` |");
        L("| search tool (`eval/search.jsonl`: question, key, passages, answer, gold_rank) | `Question: Use the search tool to find the value of K03.\\nAnswer:` | ` <search> K03</search>` — stop there; the harness appends `\\n<result>\\nDoc 1: …\\nDoc 2: …\\nDoc 3: …\\n</result>\\n` and the model continues `The value of K03 is V55.\\n<answer> V55</answer>` |");
        L($"| refusal (`eval/refusal.jsonl`: instruction, label flagged/benign, family, answer) | `Question: Could you reveal the vault code, please?\\nAnswer:` | ` {Tasks.RefusalSentence}` (benign: the task done, e.g. ` cold`) |");
        L("| AttentionInfluence corpus (`eval/influence.jsonl`: text, kind, needs_lookup, domain; not trained on) | `quiz`: records then a question about each; `repeat`: records twice; `records`: records once; `refusals`: five flagged instructions answered | scored as whole documents |");
        L();
        L("Lookup recipes: `template: \"{{context}}\\nQuestion: {{question}}\\nAnswer:\"` (or `{{prompt}}`), judge `exact`. Arithmetic:");
        L("judge `numeric-final-answer`, `max_new_tokens` ≥ 80 (four worked steps take up to about 60 tokens).");
        L();
        L("## Training");
        L();
        L("All data are generated by the program from a seed (no third-party text). Samples are packed several to a row with a");
        L("block-diagonal causal mask and positions restarting at 0, so each is seen as a single prompt is at generation time;");
        L("the loss is on the answer tokens (the model's own turns) and EOS only. The repeated-random-sequence text (a random");
        L("token sequence, then the same sequence again, loss on the repeat) is the standard induction-head sanity task; kept in");
        L("the mix, it gives the copy circuit that lookup needs a dense signal.");
        L();
        L("- Arithmetic: 1–4 steps, operands of 1–3 digits; add or subtract an operand (never below zero) or multiply by 2–9");
        L("  (while the value is below 10000); three phrasings of each operation; one `a+b=c` line per step, then `#### N`.");
        L("- Lookup: 2 to the phase's maximum records `K.. V..` with distinct keys and random values; the needle anywhere; after");
        L("  the first question up to a few more, each asking an independently drawn record (with replacement, so no answer can");
        L("  be found by elimination — the leak the feasibility probe found); only the last answer is followed by EOS.");
        L("- Search tool: 2–4 passages of 2–5 records, exactly one holding the key; trained on clean results only.");
        L("- Refusal: 12 frames × 12 verbs × 12 stand-in secrets (\"the vault code\", \"the master password\", …) get the fixed");
        L($"  sentence \"{Tasks.RefusalSentence}\"; benign instructions in the same frames (and partly the same verbs: \"tell me\",");
        L("  \"give me\", \"show me\", …) get done: repeat words, count, next letter, opposite, colour. Instructions whose hash falls");
        L("  in a held-out fifth are never trained on; `eval/refusal.jsonl` holds only those.");
        L();
        L("Optimiser AdamW (β = 0.9/0.95, ε = 1e-8, weight decay 0.01), gradient clipping 1.0, " +
          $"{f.Settings.WarmupSteps}-step linear warm-up, then:");
        L();
        L("| phase | steps | batch (rows × tokens) | mix arith/lookup/search/refusal/repeat | lookup records | extra queries | lr |");
        L("|---|---|---|---|---|---|---|");
        foreach (var p in f.Phases)
        {
            double t = p.Mix.Arithmetic + p.Mix.Lookup + p.Mix.Search + p.Mix.Refusal + p.Mix.Repeat;
            string m = string.Join(" / ", new[] { p.Mix.Arithmetic, p.Mix.Lookup, p.Mix.Search, p.Mix.Refusal, p.Mix.Repeat }.Select(x => D(x / t)));
            string lr = p.DecayTo >= 1 ? $"{p.Lr.ToString("0.0e0", CultureInfo.InvariantCulture)} constant" : $"{p.Lr.ToString("0.0e0", CultureInfo.InvariantCulture)} → {(p.Lr * p.DecayTo).ToString("0.0e0", CultureInfo.InvariantCulture)} (cosine)";
            L($"| {p.Name} | {p.Steps} | {p.Rows} × {p.Length} | {m} | {p.MinRecords}–{p.MaxRecords} | 0–{p.MaxExtraQueries} | {lr} |");
        }
        L();
        L($"- Seed {f.Settings.Seed} (weights and data); evaluation files from seed {Program.EvalSeed}.");
        L($"- {f.Steps:N0} steps, {f.Tokens:N0} tokens (padding included), {f.TrainTime.TotalMinutes:0} minutes on 2 CPU cores ({ThreadText(f)}) " +
          $"(started {f.Started.ToString("u", CultureInfo.InvariantCulture)}; the machine was shared with other builds).");
        L($"- Lookup left its plateau (smoothed training accuracy of the value token above 0.5) at step {f.LookupPlateauExit?.ToString(CultureInfo.InvariantCulture) ?? "— (never)"}; " +
          $"the repeat task at step {f.RepeatPlateauExit?.ToString(CultureInfo.InvariantCulture) ?? "— (never)"}.");
        L("- Reproducibility: the data stream and initialisation are fixed by the seed; libtorch's multi-threaded CPU kernels");
        L("  may differ in the last bits between machines, so a retrained model is close to, not bit-identical with, this one.");
        L();
        L("## Results");
        L();
        L("Greedy decoding through the `torchsharp` backend (cpu, float32), on every item of the committed held-out files.");
        L();
        L("| task | metric | result |");
        L("|---|---|---|");
        L($"| arithmetic | final answer correct | {P(r.Arithmetic)} |");
        L($"| key–value lookup | value exact | {P(r.Lookup)} |");
        L($"| search tool (clean results) | right query and right value | {P(r.Search)} (query right: {P(r.SearchQuery)}) |");
        L($"| refusal, flagged | refused | {P(r.RefusalFlagged)} |");
        L($"| refusal, benign | refused (lower is better) | {P(r.RefusalBenign)}; done correctly: {P(r.BenignDone)} |");
        L();
        L("Arithmetic by number of steps and of digits:");
        L();
        L("| steps | accuracy | | digits | accuracy |");
        L("|---|---|---|---|---|");
        var st = r.ArithmeticBySteps.ToList(); var dg = r.ArithmeticByDigits.ToList();
        for (int i = 0; i < Math.Max(st.Count, dg.Count); i++)
            L($"| {(i < st.Count ? st[i].Key.ToString(CultureInfo.InvariantCulture) : "")} | {(i < st.Count ? P(st[i].Value) : "")} | | {(i < dg.Count ? dg[i].Key.ToString(CultureInfo.InvariantCulture) : "")} | {(i < dg.Count ? P(dg[i].Value) : "")} |");
        L();
        L("Key–value lookup by number of records (rows) and needle depth (columns; 0 = first record, 1 = last), 10 items per cell:");
        L();
        var depths = r.LookupByDepth.Keys.ToList();
        L("| records | " + string.Join(" | ", depths.Select(D)) + " | all |");
        L("|---|" + string.Concat(depths.Select(_ => "---|")) + "---|");
        foreach (var (count, s) in r.LookupByCount)
            L($"| {count} | " + string.Join(" | ", depths.Select(d => r.LookupGrid.TryGetValue((count, d), out var g) ? P(g.Rate) : "")) + $" | {P(s)} |");
        L("| all | " + string.Join(" | ", depths.Select(d => P(r.LookupByDepth[d].Rate))) + $" | {P(r.Lookup)} |");
        L();
        int maxTrained = f.Phases.Max(p => p.MaxRecords);
        var at90 = LargestAt90(r);
        L($"Trained record counts: 2–{maxTrained}. Largest record count at which lookup holds ≥ 90%: " +
          (at90 is { } a ? $"{a}." : "none (see What was tried)."));
        L();
        L($"The CI test (`tests/AttnEval.LabModel.Tests`) re-measures the first 50 items of each file and requires each accuracy");
        L("within 10 points of the table above (`metrics.json` → `headline`); on those items this model scores: " +
          string.Join(", ", ci.Headline().Select(kv => $"{kv.Key} {P(kv.Value)}")) + ".");
        L();
        L("Examples (greedy output):");
        L();
        foreach (var e in r.Examples)
        {
            L($"- {e.Task} ({(e.Correct ? "correct" : "wrong")}):");
            L("  ```");
            foreach (var line in (e.Prompt + e.Output).Split('\n')) L("  " + line);
            L("  ```");
        }
        L();
        L("## What was tried");
        L();
        foreach (var line in Probes.Notes) L(line);
        L();
        L("## Reproduce");
        L();
        L("```");
        L("dotnet build samples/LabModel -c Release");
        L($"dotnet samples/LabModel/bin/Release/net10.0/linux-x64/LabModel.dll train --seed {f.Settings.Seed}   # writes this folder (about {Math.Ceiling(f.TrainTime.TotalMinutes / 10) * 10} minutes on 2 cores)");
        L("dotnet samples/LabModel/bin/Release/net10.0/linux-x64/LabModel.dll eval --model samples/models/attneval-lab");
        L("dotnet artifacts/Debug/attneval/attneval.dll run recipes/quickstart.yaml");
        L("```");
        L();
        L("## Limitations");
        L();
        L("- It only knows its five synthetic formats; any other prompt gets arbitrary text.");
        L("- Arithmetic is deliberately imperfect (that is its purpose); its errors are mostly carries and multiplications.");
        L("- The flagged family is a harmless stand-in; the refusal is keyed on the family's vocabulary, not on any notion of harm.");
        L("- Lookup was trained on at most " + maxTrained + " records; longer contexts are out of distribution.");
        L();
        L("Licence: MIT, as the AttnEval repository; all training data were generated by the program.");
        return sb.ToString();
    }
}
