using System.Text.Json.Nodes;
using AttnEval.Abstractions;
using AttnEval.Backends.TorchSharp;
using AttnEval.TestSupport;
using Xunit.Abstractions;

namespace AttnEval.Metrics.AttentionSinks.Tests;

/// <summary>The analysis on the embedded lab model (samples/models/attneval-lab, in the repository: no shared data needed)
/// over held-out arithmetic prompts.</summary>
public sealed class LabModelTests(ITestOutputHelper output)
{
    private static IReadOnlyList<Sample> Arithmetic(int n) =>
        File.ReadLines(Path.Combine(LabModel.Folder, "eval", "arithmetic.jsonl")).Take(n).Select(line =>
        {
            var node = JsonNode.Parse(line)!;
            return new Sample((string)node["id"]!, (string)node["question"]!, (string)node["answer"]!, new Dictionary<string, object?>());
        }).ToList();

    private static (HeadAnalysisResult Result, List<IReadOnlyDictionary<string, object?>> Records) Run(ILanguageModel model,
        IReadOnlyList<Sample> items, Dictionary<string, object?> options)
    {
        var records = new List<IReadOnlyDictionary<string, object?>>();
        var dir = Directory.CreateTempSubdirectory("sinks-lab-").FullName;
        try
        {
            var result = new AttentionSinksFactory().Create(new OptionValues(options)).Run(new HeadAnalysisContext
            {
                Model = model, Samples = items, OutputDirectory = dir, Record = records.Add, RenderPrompt = s => LabModel.Prompt(s.Input),
            });
            File.Exists(Path.Combine(dir, AttentionSinkAnalysis.ArtifactName)).Should().BeTrue();
            return (result, records);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Bos_is_the_most_frequent_first_sink_never_a_hidden_sink_and_the_run_is_deterministic()
    {
        using var model = new TorchSharpBackend().Load(new ModelSource(LabModel.Folder));
        var items = Arithmetic(16);
        var (a, recA) = Run(model, items, []);
        var (b, _) = Run(model, items, []);

        a.Scores.Should().HaveCount(16);
        foreach (var (head, s) in a.Scores)
        {
            s.Should().BeInRange(0, 1, head.ToString());
            b.Scores[head].Should().Be(s, "deterministic");
        }
        // On the lab model BOS is the first sink of about half the (head, prompt) pairs, far more often than any other
        // position (the rest: "Question", ":" or the first word, positions 1–3), and of every last-layer head in most prompts.
        ((double)a.Summary["first_sink_is_position0_share"]!).Should().BeGreaterThan(0.4);
        recA.Should().HaveCount(items.Count);
        var firsts = recA.SelectMany(r => ((Dictionary<string, object?>)r["first_sink"]!).Values).GroupBy(f => f).OrderByDescending(g => g.Count()).ToList();
        firsts[0].Key.Should().Be(0, "position 0 is the most frequent first sink");
        for (int h = 0; h < 4; h++)
            recA.Count(r => ((Dictionary<string, object?>)r["first_sink"]!)[$"3-{h}"] is 0).Should().BeGreaterThan(items.Count / 2, $"head 3-{h}");
        foreach (var r in recA)
        {
            var hidden = (Dictionary<string, object?>)r["hidden_sinks"]!;
            var first = (Dictionary<string, object?>)r["first_sink"]!;
            foreach (var (head, positions) in hidden)
            {
                var list = (List<int>)positions!;
                list.Should().NotContain(0, "position 0 is a sink only as the first detected one, which is excluded");
                list.Should().OnlyContain(p => p > (int)first[head]! && p < (int)r["n_tokens"]!);
            }
        }
        output.WriteLine("summary: " + string.Join("; ", a.Summary.Select(kv => $"{kv.Key}={kv.Value}")));
        output.WriteLine(a.Conclusion);
    }

    [Fact]
    public void Act_ab_on_the_lab_model_reports_both_accuracies()
    {
        using var model = new TorchSharpBackend().Load(new ModelSource(LabModel.Folder));
        var items = Arithmetic(8);
        var (a, records) = Run(model, items, new() { ["act_check"] = true, ["act_top_k"] = 2L, ["max_new_tokens"] = 64L });
        var act = (Dictionary<string, object?>)a.Summary["act"]!;
        act["status"].Should().Be("ok");
        ((List<string>)act["heads"]!).Should().HaveCount(2);
        ((double)act["accuracy_uncalibrated"]!).Should().BeInRange(0, 1);
        ((double)act["accuracy_calibrated"]!).Should().BeInRange(0, 1);
        act["n"].Should().Be(8);
        records.Count(r => ((string)r["id"]!).StartsWith("act/", StringComparison.Ordinal)).Should().Be(8);
        output.WriteLine("act: " + string.Join("; ", act.Select(kv => $"{kv.Key}={kv.Value}")));
    }

    [Fact]
    public void Generate_mode_measures_prompt_and_continuation_rows_captured_while_generating()
    {
        using var model = new TorchSharpBackend().Load(new ModelSource(LabModel.Folder));
        var items = Arithmetic(4);
        var (a, records) = Run(model, items, new() { ["sequence"] = "generate", ["max_new_tokens"] = 96L });
        foreach (var (r, item) in records.Zip(items))
        {
            int prompt = model.Tokenizer.Encode(LabModel.Prompt(item.Input), addBos: true).Count;
            var response = (string)r["response"]!;
            int generated = model.Tokenizer.Encode(response).Count;
            // every fed position has a row: the prompt and each generated token but the last (EOS, never fed)
            ((int)r["n_tokens"]!).Should().BeGreaterThan(prompt).And.BeLessThanOrEqualTo(prompt + generated + 1);
            foreach (var positions in ((Dictionary<string, object?>)r["hidden_sinks"]!).Values)
                ((List<int>)positions!).Should().OnlyContain(p => p < (int)r["n_tokens"]!);
        }
        a.Summary["sequence"].Should().Be("prompt + greedy continuation");
        a.Scores.Values.Should().OnlyContain(v => v >= 0 && v <= 1);
    }
}
