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
            var (gen, genMem, generated) = Measure(o.Repeats, () => model.Generate(Gen(false)).Sequences[0].Tokens.Count);
            var (genCap, genCapMem, generatedCap) = model.SupportsAttentionCapture
                ? Measure(o.Repeats, () => model.Generate(Gen(true)).Sequences[0].Tokens.Count) : (double.NaN, double.NaN, 0);
            var (score, scoreMem, _) = Measure(o.Repeats, () => model.Score(new ScoreRequest { Tokens = scored, From = 1 }).Tokens.Count);
            var (scoreCap, scoreCapMem, _) = model.SupportsAttentionCapture
                ? Measure(o.Repeats, () => model.Score(new ScoreRequest { Tokens = scored, From = 1, Captures = [new RowMaxReducer()] }).Tokens.Count)
                : (double.NaN, double.NaN, 0);
            var line = new JsonObject
            {
                ["model"] = o.Model, ["backend"] = o.Backend, ["device"] = model.Info.Device, ["dtype"] = model.Info.DType,
                ["architecture"] = model.Info.Architecture, ["layers"] = model.Info.Layers, ["heads"] = model.Info.Heads,
                ["kv_heads"] = model.Info.KvHeads, ["d_model"] = model.Info.DModel,
                ["threads"] = o.Threads is { } n ? n : "backend default",
                ["prompt_tokens"] = prompt.Count, ["new_tokens"] = newTokens, ["generated_tokens"] = generated, ["generated_tokens_capture"] = generatedCap, ["score_tokens"] = scored.Count, ["repeats"] = o.Repeats,
                ["generate_tokens_per_s"] = Num(gen), ["generate_capture_tokens_per_s"] = Num(genCap),
                ["score_tokens_per_s"] = Num(score), ["score_capture_tokens_per_s"] = Num(scoreCap),
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

    /// <summary>Median tokens/s over repeats, the peak RSS (MB) reached during them, and the token count of the last
    /// repeat (so the output can show how many tokens a rate is based on).</summary>
    private static (double TokensPerSecond, double PeakMb, int Tokens) Measure(int repeats, Func<int> work)
    {
        GC.Collect(); GC.WaitForPendingFinalizers();
        ResetPeak();
        var rates = new List<double>();
        int n = 0;
        for (int i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            n = work();
            rates.Add(n / sw.Elapsed.TotalSeconds);
        }
        rates.Sort();
        return (rates[rates.Count / 2], PeakMb(), n);
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

    private static JsonNode? Num(double x) => double.IsFinite(x) ? JsonValue.Create(Math.Round(x, 2)) : null;

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
