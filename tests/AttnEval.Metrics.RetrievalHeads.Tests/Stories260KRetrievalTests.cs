using AttnEval.Abstractions;
using AttnEval.Plugins.Sdk;
using AttnEval.Backends.TorchSharp;
using AttnEval.TestSupport;
using Xunit.Abstractions;

namespace AttnEval.Metrics.RetrievalHeads.Tests;

/// <summary>The whole protocol on the real stories260K model (5 layers × 8 heads, 512-token context) over the Paul Graham
/// haystack cut to fit, writing heads.json (issue 6: "retrieval-head scores over a haystack that fits its 512-token context").</summary>
public sealed class Stories260KRetrievalTests(ITestOutputHelper output)
{
    [SkippableFact]
    public void Niah_protocol_on_stories260K_writes_heads_json_consistent_with_its_trial_records()
    {
        var modelPath = SharedData.Require("models/stories260K/stories260K.bin");
        var hay = SharedData.Require("niah/PaulGrahamEssays");
        using var model = new TorchSharpBackend().Load(new ModelSource(modelPath) { Tokenizer = Path.Combine(Path.GetDirectoryName(modelPath)!, "tok512.bin") });
        var dir = Directory.CreateTempSubdirectory("rh-s260k-").FullName;
        var options = new RetrievalHeadOptions
        {
            Needles = Path.Combine(SharedData.RepoRoot, "recipes/needles/tinystories.jsonl"),
            Haystack = hay,
            ContextLengths = [256, 512],
            Depths = Haystack.Depths(5, "linear"),
            MaxNewTokens = 24,
            QuestionTemplate = "\n{question}",   // the 260K model cannot answer questions: the cue restarts the needle sentence, so continuing it copies
            SuccessThreshold = -1,                // score every trial (non-official), as few continuations recall half the needle
            AblationDraws = 3,
            AblationK = 2,
            AblationTrials = 6,
        };
        var records = new List<IReadOnlyDictionary<string, object?>>();
        var result = new RetrievalHeadAnalysis(options).Run(new HeadAnalysisContext
        {
            Model = model, OutputDirectory = dir, Seed = 7, Record = records.Add,
        });

        records.Should().HaveCount(2 * 2 * 5);
        var file = HeadScoreFile.Read(Path.Combine(dir, "heads.json"));
        file.Should().HaveCount(40);
        file.Values.Should().AllSatisfy(l => l.Should().HaveCount(20));
        // the file's means are the analysis' scores, and each list is the per-trial score of that head
        foreach (var (h, l) in file)
        {
            result.Scores[h].Should().BeApproximately(l.Average(), 1e-12);
            l.Should().AllSatisfy(v => v.Should().BeInRange(0, 50));
        }
        var first = (IReadOnlyDictionary<string, object?>)records[0]["scores"]!;
        foreach (var (k, v) in first) file[HeadId.Parse(k)][0].Should().Be((double)v!);
        var ranked = HeadScoreFile.Ranked(result.Scores);
        result.Scores[ranked[0]].Should().BeGreaterThan(0, "some head copies needle tokens on the real model");
        var ablation = (IReadOnlyDictionary<string, object?>)result.Summary["ablation"]!;
        ((IEnumerable<string>)ablation["heads"]!).Should().Equal(ranked.Take(2).Select(h => h.ToString()));

        output.WriteLine($"heads.json: {dir}/heads.json");
        output.WriteLine("top heads: " + string.Join(", ", ranked.Take(8).Select(h => $"{h} {result.Scores[h]:0.###}")));
        foreach (var (k, v) in result.Summary) output.WriteLine($"{k}: {Show(v)}");
        foreach (var (k, v) in ablation) output.WriteLine($"ablation.{k}: {Show(v)}");
        output.WriteLine("first responses: " + string.Join(" | ", records.Take(3).Select(r => r["response"])));
    }

    private static string Show(object? v) => v is System.Collections.IEnumerable e and not string ? string.Join(", ", e.Cast<object?>()) : Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? "null";
}
