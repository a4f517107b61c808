using System.Globalization;
using AttnEval.Abstractions;
using AttnEval.Backends.TorchSharp;
using AttnEval.TestSupport;
using Xunit.Abstractions;

namespace AttnEval.Metrics.ReasoningRhythm.Tests;

/// <summary>
/// The one-pass reduction against the spec's formulas applied to full attention matrices of a real model, and the numbers
/// quoted in the plugin README (lab model; stories260K from ../shared/data when present).
/// </summary>
public sealed class MeasurementTests(LabModelFixture lab, ITestOutputHelper output) : IClassFixture<LabModelFixture>
{
    [Fact]
    public void One_pass_reduction_equals_group_mean_matrices_on_the_lab_model()
    {
        var model = lab.Model;
        var sample = LabModelTests.Items(3)[2];
        var prompt = model.Tokenizer.Encode(LabModel.Prompt(sample.Input), addBos: true);
        var response = model.Generate(new GenerationRequest { PromptTokens = prompt, MaxNewTokens = 96 }).Sequences[0].Tokens;
        var all = prompt.Concat(response).ToList();
        int P = prompt.Count, N = all.Count, W = 10, hLo = 4, hHi = 40;
        int[] layers = [1, 2];
        var reducer = new RhythmReducer(layers, 4, P, N, W, hLo, hHi);
        var full = new FullPatternRecorder(layers.ToHashSet());
        model.Score(new ScoreRequest { Tokens = all, From = P, Captures = [reducer, full] });
        var s = RhythmMath.Combine(reducer, 0.3);

        // Spec §5.1 directly: d per head from the full rows; H_loc/H_glob; Ā as the mean matrix; WAAD and FAI from Ā.
        var heads = layers.SelectMany(l => Enumerable.Range(0, 4).Select(h => new HeadId(l, h))).ToList();
        double A(HeadId h, int t, int src) => full.Row(h.Layer, h.Head, t)![src];
        var d = heads.ToDictionary(h => h, h => Enumerable.Range(P, N - P).Sum(t => Enumerable.Range(0, t + 1).Sum(src => A(h, t, src) * (t - src))) / (N - P));
        var ranked = heads.OrderBy(h => d[h]).ThenBy(h => h).ToList();
        var loc = ranked.Take(2).ToList();
        var glob = ranked.AsEnumerable().Reverse().Take(2).ToList();
        double Mean(List<HeadId> g, int t, int src) => g.Average(h => A(h, t, src));
        for (int t = P; t < N; t++)
        {
            double waad = Enumerable.Range(0, t + 1).Sum(src => Mean(loc, t, src) * Math.Min(t - src, W));
            s.Waad[t - P].Should().BeApproximately(waad, 1e-6);
        }
        for (int src = P; src < N; src++)
        {
            var horizon = Enumerable.Range(P, N - P).Where(t => src + hLo <= t && t <= Math.Min(N - 1, src + hHi)).ToList();
            if (horizon.Count == 0) { s.Fai[src - P].Should().BeNull(); continue; }
            s.Fai[src - P]!.Value.Should().BeApproximately(horizon.Average(t => Mean(glob, t, src)), 1e-6);
        }
        s.Local.Should().Equal(loc);
        s.Global.Should().Equal(glob);
        foreach (var h in heads) s.Distances[h].Should().BeApproximately(d[h], 1e-6);
    }

    [Theory]
    [InlineData("lab", 100)]     // the tests' shorter horizon [4, 40]
    [InlineData("paper", 100)]   // the paper's defaults, as recipes/reasoning-rhythm.yaml sets them: horizon [10, 100]
    public void Lab_model_couplings_over_quickstart_items(string settings, int count)
    {
        var items = LabModelTests.Items(count);
        var records = new List<IReadOnlyDictionary<string, object?>>();
        var options = settings == "lab" ? LabModelTests.Options(LabModelTests.LabOptions) : LabModelTests.Options();
        var result = new ReasoningRhythmKind().Run(new RecipeKindContext
        {
            RecipeName = "measure", Model = lab.Model, Samples = items, RenderPrompt = s => LabModel.Prompt(s.Input),
            Options = options, MaxNewTokens = 96, OutputDirectory = Path.GetTempPath(), Record = records.Add,
        });
        result.Errors.Should().Be(0);
        Report(settings, result);
    }

    [SkippableFact]
    public void Stories260K_with_the_paper_defaults()
    {
        var modelPath = SharedData.Require("models/stories260K/stories260K.bin");
        using var model = new TorchSharpBackend().Load(new ModelSource(modelPath) { Tokenizer = Path.Combine(Path.GetDirectoryName(modelPath)!, "tok512.bin") });
        string[] starts = ["Once upon a time", "One day, a little girl", "Tom had a big red ball", "The sun was hot and", "Lily and her mom went",
            "There was a small dog", "Ben wanted to play", "In the park, a bird"];
        var items = starts.Select((s, i) => new Sample($"story-{i}", s, null, new Dictionary<string, object?>())).ToList();
        var records = new List<IReadOnlyDictionary<string, object?>>();
        var result = new ReasoningRhythmKind().Run(new RecipeKindContext
        {
            RecipeName = "measure-260k", Model = model, Samples = items, Options = LabModelTests.Options(),
            MaxNewTokens = 160, OutputDirectory = Path.GetTempPath(), Record = records.Add,
        });
        result.Errors.Should().Be(0);
        // 5 layers → middle third 1…3; 8 heads each → 24 sampled, ⌊0.3 × 24⌋ = 7 per group
        var item = RhythmItem.FromJson(System.Text.Json.JsonSerializer.Serialize(records[0]));
        item.HeadsLocal.Should().HaveCount(7);
        item.HeadDistance.Should().HaveCount(24);
        item.Fai.Count(f => f.HasValue).Should().Be(Math.Max(0, item.Tokens.Count - 10));
        Report("stories260K", result);
    }

    private void Report(string label, RecipeKindResult result)
    {
        var s = result.Summary;
        var len = (IReadOnlyDictionary<string, object?>)s["response_tokens"]!;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{label}] items {s["items_ok"]}, response tokens mean {len["mean"]:0.#} (min {len["min"]}, max {len["max"]})"));
        foreach (var line in new ReasoningRhythmKind().SummaryLines(result)) output.WriteLine($"[{label}] {line}");
        var groups = (IReadOnlyDictionary<string, object?>)s["head_groups"]!;
        foreach (var (g, v) in groups)
            output.WriteLine($"[{label}] {g}: " + string.Join(", ", ((IReadOnlyDictionary<string, object?>)v!).Select(kv => $"{kv.Key}×{kv.Value}")));
    }
}
