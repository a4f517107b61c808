using System.Diagnostics;
using System.Text.Json.Nodes;
using AttnEval.Abstractions;

namespace AttnEval.Cli;

/// <summary>Settings of <c>attneval bench</c>.</summary>
internal sealed record BenchOptions(string Model, string Backend, string Device, string DType, string? Tokenizer,
    int PromptTokens, int NewTokens, int ScoreTokens, int Repeats, int? Threads = null);

internal static partial class Commands
{
    private const string BenchText = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friends. ";

    /// <summary>
    /// Measures, over the <see cref="ILanguageModel"/> contract so every backend is measured the same way:
    /// greedy generation tokens/s without and with attention capture (a reducer that keeps, for every layer and
    /// row, the max over heads: O(T) memory per layer), teacher-forced scoring tokens/s without and with the same
    /// capture, and the peak resident memory of each phase (Linux VmHWM, reset between phases). Prints one JSON line.
    /// </summary>
    public static int Bench(BenchOptions o, string[]? pluginDirs)
    {
        using var host = LoadHost(pluginDirs);
        if (!host.Catalog.Backends.TryGetValue(o.Backend, out var backend))
        {
            Console.Error.WriteLine($"attneval: backend '{o.Backend}' is not installed (installed: {string.Join(", ", host.Catalog.Backends.Keys)})");
            return Cli.BadInput;
        }
        if (!backend.IsAvailable(o.Device, out var why)) { Console.Error.WriteLine($"attneval: {why}"); return Cli.BadInput; }
        if (o.PromptTokens < 1 || o.NewTokens < 1 || o.ScoreTokens < 2 || o.Repeats < 1)
        {
            Console.Error.WriteLine("attneval: --prompt-tokens, --new-tokens, --repeats must be ≥ 1 and --score-tokens ≥ 2");
            return Cli.BadInput;
        }
        ILanguageModel model;
        var options = o.Threads is { } t ? new Dictionary<string, string> { ["threads"] = t.ToString(System.Globalization.CultureInfo.InvariantCulture) } : [];
        try { model = backend.Load(new ModelSource(o.Model, o.Backend, o.Device, o.DType) { Tokenizer = o.Tokenizer, Options = options }); }
        catch (ModelLoadException e) { Console.Error.WriteLine($"attneval: {e.Message}"); return Cli.BadInput; }
        using (model)
        {
            var prompt = Tokens(model, o.PromptTokens);
            var scored = Tokens(model, Math.Min(o.ScoreTokens, model.Info.ContextLength));
            int newTokens = Math.Min(o.NewTokens, model.Info.ContextLength - prompt.Count);
            GenerationRequest Gen(bool capture) => new()
            {
                PromptTokens = prompt, MaxNewTokens = newTokens, StopTokens = [], Sampling = SamplingOptions.Greedy,
                Captures = capture ? [new RowMaxReducer()] : [],
            };
            // Generation may stop early at EOS; rates use the tokens actually produced.
            model.Generate(Gen(false) with { MaxNewTokens = Math.Min(4, newTokens) }); // warm-up
            var generate = MeasurePair(o.Repeats, () => model.Generate(Gen(false)).Sequences[0].Tokens.Count,
                model.SupportsAttentionCapture ? () => model.Generate(Gen(true)).Sequences[0].Tokens.Count : null);
            var scoring = MeasurePair(o.Repeats, () => model.Score(new ScoreRequest { Tokens = scored, From = 1 }).Tokens.Count,
                model.SupportsAttentionCapture ? () => model.Score(new ScoreRequest { Tokens = scored, From = 1, Captures = [new RowMaxReducer()] }).Tokens.Count : null);
            var (gen, genMem, generated) = generate.Plain;
            var (genCap, genCapMem, generatedCap) = generate.Capture;
            var (score, scoreMem, _) = scoring.Plain;
            var (scoreCap, scoreCapMem, _) = scoring.Capture;
            var line = new JsonObject
            {
                ["model"] = o.Model, ["backend"] = o.Backend, ["device"] = model.Info.Device, ["dtype"] = model.Info.DType,
                ["architecture"] = model.Info.Architecture, ["layers"] = model.Info.Layers, ["heads"] = model.Info.Heads,
                ["kv_heads"] = model.Info.KvHeads, ["d_model"] = model.Info.DModel,
                ["threads"] = o.Threads is { } n ? n : "backend default",
                ["prompt_tokens"] = prompt.Count, ["new_tokens"] = newTokens, ["generated_tokens"] = generated, ["generated_tokens_capture"] = generatedCap, ["score_tokens"] = scored.Count, ["repeats"] = o.Repeats,
                ["generate_tokens_per_s"] = Num(gen), ["generate_capture_tokens_per_s"] = Num(genCap),
                ["score_tokens_per_s"] = Num(score), ["score_capture_tokens_per_s"] = Num(scoreCap),
                ["generate_capture_ratio"] = Num(generate.Ratio, 3), ["score_capture_ratio"] = Num(scoring.Ratio, 3),
                ["peak_rss_mb"] = new JsonObject
                {
                    ["generate"] = Num(genMem), ["generate_capture"] = Num(genCapMem),
                    ["score"] = Num(scoreMem), ["score_capture"] = Num(scoreCapMem),
                },
                ["peak_rss_method"] = OperatingSystem.IsLinux() ? "VmHWM reset via /proc/self/clear_refs per phase" : "process peak working set (not reset)",
            };
            Console.WriteLine(line.ToJsonString());
        }
        return Cli.Ok;
    }

    private static IReadOnlyList<int> Tokens(ILanguageModel model, int count)
    {
        var ids = new List<int>();
        if (model.Tokenizer.BosId is { } bos) ids.Add(bos);
        var chunk = model.Tokenizer.Encode(BenchText);
        while (ids.Count < count) ids.AddRange(chunk);
        return ids.Take(count).ToList();
    }

    /// <summary>Runs <paramref name="plain"/> and <paramref name="capture"/> alternately, <paramref name="repeats"/> times
    /// each, so that drift in the machine's speed (other processes, frequency) falls on both alike. Per phase: median
    /// tokens/s, the peak RSS (MB) reached in any of its runs (VmHWM reset before each run), and the token count of the
    /// last run. <c>Ratio</c> is the median over repeats of capture rate / plain rate of the same repeat (NaN without a
    /// capture phase).</summary>
    private static ((double Rate, double PeakMb, int Tokens) Plain, (double Rate, double PeakMb, int Tokens) Capture, double Ratio)
        MeasurePair(int repeats, Func<int> plain, Func<int>? capture)
    {
        var plainRuns = new List<(double Rate, double Peak, int Tokens)>();
        var captureRuns = new List<(double Rate, double Peak, int Tokens)>();
        var ratios = new List<double>();
        for (int i = 0; i < repeats; i++)
        {
            plainRuns.Add(Run(plain));
            if (capture is null) continue;
            captureRuns.Add(Run(capture));
            ratios.Add(captureRuns[^1].Rate / plainRuns[^1].Rate);
        }
        return (Summarise(plainRuns), captureRuns.Count == 0 ? (double.NaN, double.NaN, 0) : Summarise(captureRuns),
            ratios.Count == 0 ? double.NaN : Median(ratios));

        static (double, double, int) Run(Func<int> work)
        {
            GC.Collect(); GC.WaitForPendingFinalizers();
            ResetPeak();
            var sw = Stopwatch.StartNew();
            int n = work();
            return (n / sw.Elapsed.TotalSeconds, PeakMb(), n);
        }
        static (double, double, int) Summarise(List<(double Rate, double Peak, int Tokens)> runs) =>
            (Median(runs.Select(r => r.Rate).ToList()), runs.Max(r => r.Peak), runs[^1].Tokens);
        static double Median(List<double> xs) { xs.Sort(); return xs.Count % 2 == 1 ? xs[xs.Count / 2] : (xs[xs.Count / 2 - 1] + xs[xs.Count / 2]) / 2; }
    }

    private static void ResetPeak()
    {
        if (!OperatingSystem.IsLinux()) return;
        try { File.WriteAllText("/proc/self/clear_refs", "5"); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static double PeakMb()
    {
        if (OperatingSystem.IsLinux())
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return double.Parse(line[6..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) / 1024.0;
        return Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0);
    }

    private static JsonNode? Num(double x, int digits = 2) => double.IsFinite(x) ? JsonValue.Create(Math.Round(x, digits)) : null;

    /// <summary>The benchmark's capture: per layer and query row, the max weight over heads (O(T) floats per layer).</summary>
    private sealed class RowMaxReducer : IAttentionRowReducer
    {
        private readonly Dictionary<int, List<float>> _perLayer = [];
        public IReadOnlySet<int>? Layers => null;
        public void Accept(in AttentionRowBlock block)
        {
            if (!_perLayer.TryGetValue(block.Layer, out var list)) _perLayer[block.Layer] = list = [];
            for (int i = 0; i < block.QueryCount; i++)
            {
                float m = 0;
                for (int h = 0; h < block.Heads; h++)
                    foreach (var x in block.Row(h, i)) m = Math.Max(m, x);
                list.Add(m);
            }
        }
    }
}
