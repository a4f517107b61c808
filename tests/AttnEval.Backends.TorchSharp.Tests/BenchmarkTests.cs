using System.Diagnostics;
using AttnEval.Abstractions;
using AttnEval.Backends.TorchSharp.Modeling;
using AttnEval.TestSupport;
using Xunit.Abstractions;

namespace AttnEval.Backends.TorchSharp.Tests;

/// <summary>Throughput and peak-memory numbers for the closing note; runs only with ATTNEVAL_BENCH=1 (minutes on 2 cores).</summary>
public sealed class BenchmarkTests(ITestOutputHelper output)
{
    /// <summary>A reducer like UQAC's: keeps one float per (layer, query) — O(T) memory.</summary>
    private sealed class RowMaxReducer : IAttentionRowReducer
    {
        public List<float> Values { get; } = [];
        public IReadOnlySet<int>? Layers => null;
        public void Accept(in AttentionRowBlock block)
        {
            for (int i = 0; i < block.QueryCount; i++)
            {
                float m = 0;
                for (int h = 0; h < block.Heads; h++) foreach (var x in block.Row(h, i)) m = Math.Max(m, x);
                Values.Add(m);
            }
        }
    }

    private static long PeakRssBytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        return 0;
    }

    private static void ResetPeak() => File.WriteAllText("/proc/self/clear_refs", "5");

    private void Bench(ILanguageModel m, string name, int[] prompt, int genTokens, int scoreTokens)
    {
        m.Generate(new GenerationRequest { PromptTokens = prompt, MaxNewTokens = 4 });   // warm-up
        var sw = Stopwatch.StartNew();
        var g = m.Generate(new GenerationRequest { PromptTokens = prompt, MaxNewTokens = genTokens, StopTokens = [] });
        double plain = g.Sequences[0].Tokens.Count / sw.Elapsed.TotalSeconds;
        sw.Restart();
        var g2 = m.Generate(new GenerationRequest { PromptTokens = prompt, MaxNewTokens = genTokens, Captures = [new RowMaxReducer()] });
        double captured = g2.Sequences[0].Tokens.Count / sw.Elapsed.TotalSeconds;
        var toks = Enumerable.Range(0, scoreTokens).Select(i => i == 0 ? 1 : 3 + (i * 7919) % (m.Info.VocabSize - 3)).ToArray();
        GC.Collect(); ResetPeak();
        sw.Restart();
        m.Score(new ScoreRequest { Tokens = toks, From = 1 });
        double score = scoreTokens / sw.Elapsed.TotalSeconds;
        long peakPlain = PeakRssBytes();
        GC.Collect(); ResetPeak();
        sw.Restart();
        var red = new RowMaxReducer();
        m.Score(new ScoreRequest { Tokens = toks, From = 1, Captures = [red] });
        double scoreCap = scoreTokens / sw.Elapsed.TotalSeconds;
        long peakCap = PeakRssBytes();
        output.WriteLine($"{{\"model\":\"{name}\",\"greedy_tok_s\":{plain:F1},\"greedy_capture_tok_s\":{captured:F1},\"score_tokens\":{scoreTokens},\"score_tok_s\":{score:F1},\"score_capture_tok_s\":{scoreCap:F1},\"peak_rss_mb\":{peakPlain / 1048576},\"peak_rss_capture_mb\":{peakCap / 1048576},\"ratio\":{(double)peakCap / peakPlain:F2}}}");
    }

    [SkippableFact]
    public void BenchStories260KAndRandom110M()
    {
        Skip.IfNot(Environment.GetEnvironmentVariable("ATTNEVAL_BENCH") == "1", "set ATTNEVAL_BENCH=1 to run the benchmark");
        using (var s = Stories260KTests.Load()) Bench(s, "stories260K", [1], 256, 512);
        var dir = Directory.CreateTempSubdirectory("attneval-110m-").FullName;
        try
        {
            using (var m = new LlamaForCausalLM(new LlamaConfig(32000, 768, 2048, 12, 12, 12) { MaxPositionEmbeddings = 2048 }))
            {
                m.InitializeWeights(0.02, 1);
                m.SavePretrained(dir);
            }
            File.Copy(SharedData.Require("models/onnx/tiny-random-LlamaForCausalLM-fp16/tokenizer.json"), Path.Combine(dir, "tokenizer.json"));
            using var model = new TorchSharpBackend().Load(new ModelSource(dir));
            Bench(model, "random-llama-110M", Enumerable.Range(1, 16).ToArray(), 32, 2048);
        }
        finally { Directory.Delete(dir, true); }
    }
}
