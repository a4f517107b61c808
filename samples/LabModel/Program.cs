using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using AttnEval.Abstractions;
using AttnEval.Backends.TorchSharp;
using AttnEval.Backends.TorchSharp.Modeling;

namespace AttnEval.Samples.LabModel;

/// <summary>
/// Entry point. Commands (run from the repository root):
/// <c>train [--out DIR] [--seed N] [--scale X]</c> trains the lab model and writes the folder, evaluation and card;
/// <c>eval [--model DIR] [--limit N]</c> evaluates a written folder through the backend;
/// <c>eval-sets [--model DIR]</c> rewrites the held-out files only;
/// <c>card [--model DIR]</c> re-evaluates a trained folder and rewrites its card and metrics.json from the training
/// record kept in metrics.json (the weights are not touched);
/// <c>probe --mix a,l,s,r,p --steps N [...]</c> runs a short training probe (see <see cref="Probe"/>).
/// </summary>
internal static class Program
{
    public const string DefaultOut = "samples/models/attneval-lab";
    public const int EvalSeed = 20250;

    private static int Main(string[] args)
    {
        if (args.Length == 0) { Console.Error.WriteLine("usage: LabModel train|eval|card|eval-sets|probe [options]"); return 2; }
        var o = Options.Parse(args.Skip(1));
        try
        {
            return args[0] switch
            {
                "train" => Train(o),
                "eval" => Eval(o),
                "probe" => Probe(o),
                "card" => Card(o),
                "eval-sets" => WriteEvalSets(o),
                _ => Usage(args[0]),
            };
        }
        catch (ArgumentException e) { Console.Error.WriteLine(e.Message); return 2; }
    }

    private static int Usage(string cmd) { Console.Error.WriteLine($"unknown command '{cmd}' (expected train, eval, card, eval-sets or probe)"); return 2; }

    /// <summary>Rewrites the held-out files of a trained folder (<c>eval/*.jsonl</c>) from the fixed evaluation seed; each
    /// file has a seed of its own, so adding a file leaves the others byte-identical.</summary>
    private static int WriteEvalSets(Options o)
    {
        var dir = o.String("model", DefaultOut);
        EvalSets.Write(Path.Combine(dir, "eval"), EvalSeed);
        Console.WriteLine($"wrote {Path.Combine(dir, "eval")}/*.jsonl");
        return 0;
    }

    public static LabVocabulary Vocabulary() => LabVocabulary.Build(Tasks.Lexicon(), Tasks.ExtraPieces());

    /// <summary>Writes tokenizer files, generation_config.json and an untrained checkpoint, then loads the folder with
    /// the torchsharp backend to get the exact tokenizer the backend will use, and checks its invariants.</summary>
    private static (Packer Packer, HashSet<int> ValueIds) Prepare(string dir, LabVocabulary vocab, Trainer trainer, TrainSettings s)
    {
        Directory.CreateDirectory(dir);
        vocab.Write(dir, s.Context);
        var gen = new JsonObject
        {
            ["bos_token_id"] = LabVocabulary.BosId, ["eos_token_id"] = LabVocabulary.EosId, ["pad_token_id"] = LabVocabulary.UnkId,
            ["do_sample"] = false, ["max_new_tokens"] = 96, ["transformers_version"] = "4.46.0",
        };
        File.WriteAllText(Path.Combine(dir, "generation_config.json"), gen.ToJsonString(new() { WriteIndented = true }));
        using (var init = trainer.CreateModel()) init.SavePretrained(dir);
        using var loaded = new TorchSharpBackend().Load(new ModelSource(dir));
        var tok = loaded.Tokenizer;
        var valueIds = Enumerable.Range(0, LabVocabulary.ValueCount).Select(v => vocab.Id(LabVocabulary.Space + LabVocabulary.ValueText(v))).ToHashSet();
        SelfCheck(tok, vocab);
        return (new Packer(tok, valueIds), valueIds);
    }

    /// <summary>Keys and values are single tokens; segment-wise encoding equals whole-text encoding (so training sees
    /// exactly the tokens generation sees); decoding round-trips.</summary>
    private static void SelfCheck(ITokenizer tok, LabVocabulary vocab)
    {
        for (int k = 0; k < LabVocabulary.KeyCount; k++)
        {
            var e = tok.Encode(" " + LabVocabulary.KeyText(k));
            if (e.Count != 1 || e[0] != vocab.Id(LabVocabulary.Space + LabVocabulary.KeyText(k))) throw new InvalidOperationException($"key K{k:00} is not one token: [{string.Join(',', e)}]");
        }
        var rng = new Random(5);
        for (int i = 0; i < 200; i++)
        {
            var s = (i % 4) switch { 0 => Tasks.ArithmeticSample(rng), 1 => Tasks.LookupSample(rng, 12, 3), 2 => Tasks.SearchSample(rng), _ => Tasks.RefusalSample(rng) };
            var whole = tok.Encode(string.Concat(s.Segments.Select(x => x.Text)));
            var parts = s.Segments.SelectMany(x => tok.Encode(x.Text)).ToList();
            if (!whole.SequenceEqual(parts)) throw new InvalidOperationException($"segment encoding differs from whole encoding for: {string.Concat(s.Segments.Select(x => x.Text))}");
            if (whole.Contains(LabVocabulary.UnkId)) throw new InvalidOperationException("unknown token in a training text");
            var text = string.Concat(s.Segments.Select(x => x.Text));
            if (tok.Decode(whole) != text) throw new InvalidOperationException($"decode does not round-trip: '{tok.Decode(whole)}' vs '{text}'");
        }
    }

    private static TrainSettings Settings(Options o) => new(
        Hidden: o.Int("hidden", 128), Intermediate: o.Int("ffn", 384), Layers: o.Int("layers", 4), Heads: o.Int("heads", 4), KvHeads: o.Int("kv", 2),
        Context: o.Int("context", 512), Seed: o.Int("seed", 1234), WarmupSteps: o.Int("warmup", 100), LogEvery: o.Int("log", 50), Threads: o.Int("threads", 0));

    /// <summary>A short training probe on a scratch folder: one phase with the given mix, then (optionally) a greedy
    /// evaluation of the first items of each held-out file.</summary>
    private static int Probe(Options o)
    {
        var s = Settings(o);
        var vocab = Vocabulary();
        var dir = o.String("out", Path.Combine(Path.GetTempPath(), "labmodel-probe"));
        var trainer = new Trainer(vocab, null!, s, Console.Out);
        var (packer, _) = Prepare(dir, vocab, trainer, s);
        trainer = new Trainer(vocab, packer, s, Console.Out);
        var w = o.String("mix", "0,1,0,0,0").Split(',').Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        var rec = o.String("records", "2-16").Split('-').Select(int.Parse).ToArray();
        var phase = new Phase("probe", o.Int("steps", 1000), o.Int("rows", 64), o.Int("len", 96), new Mix(w[0], w[1], w[2], w[3], w[4]),
            rec[0], rec[1], o.Int("queries", 0), o.Int("repeat-len", 24), o.Double("lr", 1.5e-3), o.Double("decay", 1.0));
        Console.WriteLine($"probe: vocab {vocab.Count}, {s}, {phase}");
        using var model = trainer.CreateModel();
        Console.WriteLine($"parameters: {model.parameters().Sum(p => p.numel()):N0}");
        trainer.Train(model, [phase]);
        Console.WriteLine($"done: {trainer.StepsDone} steps in {trainer.Elapsed}, lookup plateau exit at step {trainer.LookupPlateauExit?.ToString(CultureInfo.InvariantCulture) ?? "never"}, repeat plateau exit at step {trainer.RepeatPlateauExit?.ToString(CultureInfo.InvariantCulture) ?? "never"}");
        if (o.Int("eval", 0) > 0)
        {
            model.SavePretrained(dir);
            EvalSets.Write(Path.Combine(dir, "eval"), EvalSeed);
            var r = LabEvaluator.Evaluate(dir, o.Int("eval", 0), Console.Out);
            Console.WriteLine("lookup by count: " + string.Join(", ", r.LookupByCount.Select(kv => $"{kv.Key}: {kv.Value}")));
        }
        return 0;
    }

    private static int Eval(Options o)
    {
        var dir = o.String("model", DefaultOut);
        int limit = o.Int("limit", 0);
        var r = LabEvaluator.Evaluate(dir, limit > 0 ? limit : null, Console.Out);
        Console.WriteLine("arithmetic by steps: " + string.Join(", ", r.ArithmeticBySteps.Select(kv => $"{kv.Key}: {kv.Value}")));
        Console.WriteLine("arithmetic by digits: " + string.Join(", ", r.ArithmeticByDigits.Select(kv => $"{kv.Key}: {kv.Value}")));
        Console.WriteLine("lookup by count: " + string.Join(", ", r.LookupByCount.Select(kv => $"{kv.Key}: {kv.Value}")));
        Console.WriteLine("lookup by depth: " + string.Join(", ", r.LookupByDepth.Select(kv => $"{kv.Key}: {kv.Value}")));
        foreach (var e in r.Examples) Console.WriteLine($"--- {e.Task} ({(e.Correct ? "ok" : "wrong")})\n{e.Prompt}{e.Output}");
        Console.WriteLine($"evaluated in {r.Elapsed}");
        return 0;
    }

    /// <summary>Rewrites README.md and metrics.json of a trained folder: the training facts come from its metrics.json,
    /// the schedule from <see cref="Plan"/> (checked against the recorded step count), the numbers from a fresh
    /// evaluation through the backend.</summary>
    private static int Card(Options o)
    {
        var dir = o.String("model", DefaultOut);
        var metrics = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "metrics.json")))!.AsObject();
        var t = metrics["training"]!.AsObject();
        var phases = Plan.Full(1.0);
        int steps = t["steps"]!.GetValue<int>();
        if (phases.Sum(p => p.Steps) != steps)
            throw new ArgumentException($"{dir}/metrics.json records {steps} steps but Plan.Full has {phases.Sum(p => p.Steps)}: the card would describe another schedule");
        var s = Settings(o) with { Seed = metrics["seed"]!.GetValue<long>() };
        var config = LlamaConfig.FromFile(Path.Combine(dir, "config.json"));
        long nParams;
        using (var m = LlamaForCausalLM.FromPretrained(dir)) nParams = m.parameters().Sum(p => p.numel());
        var byThreads = new int[3];
        var th = System.Text.RegularExpressions.Regex.Match(t["threads"]?.ToString() ?? "", @"(\d+) steps with 1, (\d+) with 2");
        if (th.Success) { byThreads[1] = int.Parse(th.Groups[1].Value, CultureInfo.InvariantCulture); byThreads[2] = int.Parse(th.Groups[2].Value, CultureInfo.InvariantCulture); }
        int? Step(string k) => t[k] is { } v ? v.GetValue<int>() : null;
        var started = DateTime.ParseExact(t["started_utc"]!.GetValue<string>(), "u", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal);
        var report = LabEvaluator.Evaluate(dir, null, Console.Out);
        var ci = LabEvaluator.Evaluate(dir, 50, null);
        ModelCard.Write(dir, new ModelCard.Facts(config, s, phases, nParams, Sha256(Path.Combine(dir, "model.safetensors")), steps, t["tokens"]!.GetValue<long>(),
            TimeSpan.FromSeconds(t["seconds"]!.GetValue<double>()), started, Step("lookup_plateau_exit_step"), Step("repeat_plateau_exit_step"), [], byThreads), report, ci);
        Console.WriteLine($"rewrote {Path.Combine(dir, "README.md")} and metrics.json");
        return 0;
    }

    private static int Train(Options o)
    {
        var s = Settings(o);
        var vocab = Vocabulary();
        var dir = o.String("out", DefaultOut);
        double scale = o.Double("scale", 1.0);
        var trainer = new Trainer(vocab, null!, s, Console.Out);
        var (packer, _) = Prepare(dir, vocab, trainer, s);
        EvalSets.Write(Path.Combine(dir, "eval"), EvalSeed);
        trainer = new Trainer(vocab, packer, s, Console.Out);
        var phases = Plan.Full(scale);
        Console.WriteLine($"lab model: vocab {vocab.Count}, {s}");
        foreach (var p in phases) Console.WriteLine($"  {p}");
        using var model = trainer.CreateModel();
        long nParams = model.parameters().Sum(p => p.numel());
        Console.WriteLine($"parameters: {nParams:N0} ({nParams * 4 / 1e6:0.00} MB float32)");
        var started = DateTime.UtcNow;
        var snapshots = o.String("snapshots", "");
        trainer.Train(model, phases, step =>
        {
            model.SavePretrained(dir);
            Console.WriteLine($"checkpoint at step {step} written to {dir}");
            if (snapshots.Length > 0) CopyFolder(dir, Path.Combine(snapshots, $"step-{step:00000}"));
        }, o.Int("checkpoint-every", 500));
        model.SavePretrained(dir);
        var sha = Sha256(Path.Combine(dir, "model.safetensors"));
        Console.WriteLine($"training done: {trainer.StepsDone} steps, {trainer.TokensSeen:N0} tokens, {trainer.Elapsed}; model.safetensors sha256 {sha}");
        Console.WriteLine($"lookup plateau exit: step {trainer.LookupPlateauExit?.ToString(CultureInfo.InvariantCulture) ?? "never"}; repeat plateau exit: step {trainer.RepeatPlateauExit?.ToString(CultureInfo.InvariantCulture) ?? "never"}");
        var report = LabEvaluator.Evaluate(dir, null, Console.Out);
        var ci = LabEvaluator.Evaluate(dir, 50, null);
        ModelCard.Write(dir, new ModelCard.Facts(trainer.Config, s, phases, nParams, sha, trainer.StepsDone, trainer.TokensSeen, trainer.Elapsed, started,
            trainer.LookupPlateauExit, trainer.RepeatPlateauExit, trainer.History, trainer.StepsByThreads), report, ci);
        Console.WriteLine($"wrote {Path.Combine(dir, "README.md")} and metrics.json");
        return 0;
    }

    private static void CopyFolder(string from, string to)
    {
        foreach (var f in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, f));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(f, target, overwrite: true);
        }
    }

    public static string Sha256(string path) => LabEvaluator.Sha256File(path);
}

/// <summary><c>--name value</c> options.</summary>
internal sealed class Options
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public static Options Parse(IEnumerable<string> args)
    {
        var o = new Options();
        string? key = null;
        foreach (var a in args)
        {
            if (a.StartsWith("--", StringComparison.Ordinal)) { key = a[2..]; o._values[key] = "true"; }
            else if (key is not null) { o._values[key] = a; key = null; }
            else throw new ArgumentException($"unexpected argument '{a}'");
        }
        return o;
    }

    public string String(string k, string d) => _values.TryGetValue(k, out var v) ? v : d;
    public int Int(string k, int d) => _values.TryGetValue(k, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : d;
    public double Double(string k, double d) => _values.TryGetValue(k, out var v) ? double.Parse(v, CultureInfo.InvariantCulture) : d;
}
