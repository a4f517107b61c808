using System.Text.Json;
using System.Text.Json.Nodes;
using AttnEval.Abstractions;
using AttnEval.Backends.TorchSharp;
using AttnEval.Plugins.Sdk;
using AttnEval.TestSupport;
using Xunit.Abstractions;

namespace AttnEval.Metrics.ReasoningRhythm.Tests;

/// <summary>The model, loaded once for the class (the lab model is 1 M parameters; loading is cheap, but not free).</summary>
public sealed class LabModelFixture : IDisposable
{
    public ILanguageModel Model { get; } = new TorchSharpBackend().Load(new ModelSource(LabModel.Folder));
    public void Dispose() => Model.Dispose();
}

/// <summary>
/// The kind on the lab model (samples/models/attneval-lab, TorchSharp backend) over the quickstart dataset's items and
/// prompt (recipes/quickstart.yaml), driven through a hand-built <see cref="RecipeKindContext"/> as the host will.
/// </summary>
public sealed class LabModelTests(LabModelFixture lab, ITestOutputHelper output) : IClassFixture<LabModelFixture>
{
    private static readonly string Dataset = Path.Combine(LabModel.Folder, "eval", "arithmetic.jsonl");

    /// <summary>Test settings: a shorter FAI horizon than the paper's [10, 100] (the recipe keeps the paper's), so that the
    /// short lab answers (11–63 tokens) have FAI on all but their last 4 tokens.</summary>
    internal static readonly (string, object?)[] LabOptions = [("horizon_lo", 4L), ("horizon_hi", 40L), ("window", 10L)];

    internal static IReadOnlyList<Sample> Items(int count) =>
        Jsonl.Read(Dataset, (e, line) => new Sample(
                e.GetProperty("id").GetString()!, e.GetProperty("question").GetString()!, e.GetProperty("answer").GetString(),
                new Dictionary<string, object?> { ["question"] = e.GetProperty("question").GetString() }),
            (line, e) => $"line {line}: {e.Message}")
            .Take(count).ToList();

    /// <summary>Option values as the host hands them over: every spec's default, then the recipe's keys.</summary>
    internal static OptionValues Options(params (string Key, object? Value)[] set)
    {
        var values = new ReasoningRhythmKind().Options.ToDictionary(s => s.Key, s => s.Default);
        foreach (var (k, v) in set) values[k] = v;
        return new OptionValues(values);
    }

    private RecipeKindContext Context(IReadOnlyList<Sample> items, List<IReadOnlyDictionary<string, object?>> records, OptionValues? options = null,
        IReadOnlyDictionary<string, string>? resumed = null) => new()
    {
        RecipeName = "reasoning-rhythm-test",
        Model = lab.Model,
        Samples = items,
        RenderPrompt = s => LabModel.Prompt(s.Input),   // quickstart: "Question: {{question}}\nAnswer:"
        Options = options ?? Options(LabOptions),
        MaxNewTokens = 96,
        Seed = 7,
        OutputDirectory = Directory.CreateTempSubdirectory("rhythm-").FullName,
        Record = records.Add,
        ResumedRecords = resumed ?? new Dictionary<string, string>(),
    };

    private static string Json(object? value) => JsonSerializer.Serialize(value);

    [Fact]
    public void Records_hold_finite_per_token_series_aligned_with_the_tokens()
    {
        var items = Items(6);
        var records = new List<IReadOnlyDictionary<string, object?>>();
        var result = new ReasoningRhythmKind().Run(Context(items, records));

        records.Select(r => r["id"]).Should().Equal(items.Select(i => i.Id));
        result.Errors.Should().Be(0);
        result.Inconclusive.Should().BeNull();
        result.Conclusion.Should().NotBeNullOrEmpty();
        foreach (var rec in records)
        {
            var item = RhythmItem.FromJson(Json(rec));   // records are JSON-serialisable and read back
            int n = item.Tokens.Count;
            n.Should().BeGreaterThan(0);
            item.TokenIds.Should().HaveCount(n);
            item.Waad.Should().HaveCount(n).And.OnlyContain(v => double.IsFinite(v) && v >= 0 && v <= 10 + 1e-6, "WAAD is a weighted mean of min(t−s, W)");
            item.Fai.Should().HaveCount(n).And.OnlyContain(v => v == null || (double.IsFinite(v.Value) && v >= 0 && v <= 1 + 1e-6));
            // FAI is defined exactly where the horizon holds a row: s + H_lo ≤ N − 1, i.e. index < n − H_lo
            Enumerable.Range(0, n).Select(i => item.Fai[i].HasValue).Should().Equal(Enumerable.Range(0, n).Select(i => i < n - 4));
            item.Entropy.Should().HaveCount(n).And.OnlyContain(v => double.IsFinite(v) && v >= 0 && v <= Math.Log(1169) + 1e-4);
            item.WaadPeaks.Should().OnlyContain(i => i >= 0 && i < n);
            item.FaiPeaks.Should().OnlyContain(i => i >= 0 && i < n && item.Fai[i] != null);
            item.TopFai.Should().HaveCount((int)Math.Ceiling(0.4 * item.Fai.Count(f => f != null) - 1e-9));
            item.HeadsLocal.Should().HaveCount(2).And.NotIntersectWith(item.HeadsGlobal);   // ⌊0.3 × 8⌋ heads of layers 1–2
            item.HeadDistance.Keys.Should().BeEquivalentTo(["1-0", "1-1", "1-2", "1-3", "2-0", "2-1", "2-2", "2-3"]);
            item.HeadsLocal.Max(h => item.HeadDistance[h]).Should().BeLessThanOrEqualTo(item.HeadsGlobal.Min(h => item.HeadDistance[h]));
            string.Concat(item.Tokens).Should().StartWith(item.Response.TrimEnd());
        }
        var summary = (IReadOnlyDictionary<string, object?>)result.Summary["options"]!;
        ((IEnumerable<int>)summary["layers"]!).Should().Equal(1, 2);
        var lines = new ReasoningRhythmKind().SummaryLines(result);
        lines.Should().Contain(l => l.StartsWith("entropy_at_waad_peaks: observed", StringComparison.Ordinal));
        output.WriteLine(string.Join("\n", lines));
        output.WriteLine("first answer: " + records[0]["response"]);
    }

    [Fact]
    public void Two_runs_write_the_same_records_and_summary()
    {
        var items = Items(4);
        var a = new List<IReadOnlyDictionary<string, object?>>();
        var b = new List<IReadOnlyDictionary<string, object?>>();
        var ra = new ReasoningRhythmKind().Run(Context(items, a));
        var rb = new ReasoningRhythmKind().Run(Context(items, b));
        Json(b).Should().Be(Json(a));
        Json(rb.Summary).Should().Be(Json(ra.Summary));
        rb.Conclusion.Should().Be(ra.Conclusion);
    }

    [Fact]
    public void Resume_skips_finished_items_and_reuses_their_values()
    {
        var items = Items(5);
        var full = new List<IReadOnlyDictionary<string, object?>>();
        var whole = new ReasoningRhythmKind().Run(Context(items, full));

        // an interrupted attempt wrote the first three records; a resumed run gets them as JSON text by id
        var resumed = full.Take(3).ToDictionary(r => (string)r["id"]!, r => Json(r));
        var rest = new List<IReadOnlyDictionary<string, object?>>();
        var progress = new List<(int, int, string)>();
        var ctx = Context(items, rest, resumed: resumed) with { Progress = new SyncProgress(progress.Add) };
        var again = new ReasoningRhythmKind().Run(ctx);

        rest.Select(r => r["id"]).Should().Equal(items.Skip(3).Select(i => i.Id), "finished items are not run or recorded again");
        Json(rest).Should().Be(Json(full.Skip(3)));
        Json(again.Summary).Should().Be(Json(whole.Summary), "resumed values count exactly like fresh ones");
        progress.Select(p => p.Item1).Should().Equal(1, 2, 3, 4, 5);

        // the resumed values are used, not recomputed: a doctored record changes the pooled numbers
        var doctored = JsonNode.Parse(resumed[items[0].Id])!.AsObject();
        doctored["entropy"] = new JsonArray(((JsonArray)doctored["entropy"]!).Select(_ => (JsonNode?)JsonValue.Create(100.0)).ToArray());
        var changed = new ReasoningRhythmKind().Run(Context(items, [], resumed: new Dictionary<string, string>(resumed) { [items[0].Id] = doctored.ToJsonString() }));
        Json(changed.Summary).Should().NotBe(Json(whole.Summary));
    }

    [Fact]
    public void Failing_items_become_error_records_and_the_rest_still_runs()
    {
        var items = Items(2).ToList();
        var tooLong = new Sample("too-long", string.Concat(Enumerable.Repeat("Begin with 1. Plus 2. ", 200)), null, new Dictionary<string, object?>());
        var noField = new Sample("no-field", "x", null, new Dictionary<string, object?>());
        items.Insert(1, tooLong);
        items.Add(noField);
        var records = new List<IReadOnlyDictionary<string, object?>>();
        var ctx = Context(items, records) with
        {
            RenderPrompt = s => s.Id == "no-field" ? throw new KeyNotFoundException("the template names 'question', which item no-field lacks") : LabModel.Prompt(s.Input),
        };
        var result = new ReasoningRhythmKind().Run(ctx);
        result.Errors.Should().Be(2);
        records.Should().HaveCount(4);
        records[1].Should().ContainKey("error");
        records[3]["error"].Should().Be("the template names 'question', which item no-field lacks");
        result.Summary["items_ok"].Should().Be(2);
        result.Inconclusive.Should().BeNull();
    }

    [Fact]
    public void Layers_the_model_lacks_and_cancellation_stop_the_run()
    {
        var bad = () => new ReasoningRhythmKind().Run(Context(Items(1), [], Options(("layers", new List<object?> { 4L }))));
        bad.Should().Throw<ArgumentException>().WithMessage("analysis.layers: layer 4 is outside the model's 0…3");
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var cancelled = () => new ReasoningRhythmKind().Run(Context(Items(2), []), cts.Token);
        cancelled.Should().Throw<OperationCanceledException>();
    }

    [Fact]
    public void Report_draws_a_chart_per_answer_and_the_coupling_table()
    {
        var items = Items(3);
        var records = new List<IReadOnlyDictionary<string, object?>>();
        var result = new ReasoningRhythmKind().Run(Context(items, records, Options([.. LabOptions, ("report_items", 2L)])));
        var summary = JsonNode.Parse(Json(new Dictionary<string, object?>
        {
            ["status"] = "ok", ["conclusion"] = result.Conclusion, ["result"] = result.Summary,
        }))!.AsObject();
        var recs = records.Select(r => JsonNode.Parse(Json(r))!.AsObject()).ToList();
        var html = new ReasoningRhythmKind().RenderReport(new RecipeKindReport(summary, recs, Path.GetTempPath()));
        html.Split("<svg").Should().HaveCount(3, "report_items = 2 charts");
        html.Should().Contain("entropy_at_waad_peaks").And.Contain("fai_peak_follows_waad_peak").And.Contain("table class=\"data\"")
            .And.Contain("Not measured").And.Contain(items[0].Id);
        File.WriteAllText(Path.Combine(Path.GetTempPath(), "reasoning-rhythm-report.html"), $"<html><body>{html}</body></html>");
    }

    [Fact]
    public void Report_encodes_text_from_the_data()
    {
        var item = new RhythmItem
        {
            Id = "<b>id</b>", Response = "<script>alert(1)</script>", Tokens = ["<script>", "&", "x"], TokenIds = [1, 2, 3],
            Waad = [1, 2, 1], Fai = [0.5, null, null], Entropy = [0.1, 0.2, 0.3], WaadPeaks = [1], FaiPeaks = [], TopFai = [0],
            HeadsLocal = ["1-0"], HeadsGlobal = ["1-1"], PromptTokens = 4,
        };
        var broken = new RhythmItem { Id = "bad<", Error = "failed <here>" };
        var result = ReasoningRhythmKind.Summarise([item, broken], RhythmOptions.From(OptionValues.Empty), [1]);
        var summary = JsonNode.Parse(Json(new Dictionary<string, object?> { ["conclusion"] = result.Conclusion, ["result"] = result.Summary }))!.AsObject();
        var html = new ReasoningRhythmKind().RenderReport(new RecipeKindReport(summary,
            [JsonNode.Parse(Json(item.ToRecord()))!.AsObject(), JsonNode.Parse(Json(broken.ToRecord()))!.AsObject()], Path.GetTempPath()));
        html.Should().NotContain("<script>").And.NotContain("<b>id").And.NotContain("<here>");
        html.Should().Contain("&lt;script&gt;").And.Contain("&lt;b&gt;id&lt;/b&gt;").And.Contain("failed &lt;here&gt;");
    }

    /// <summary>Progress that reports on the calling thread (Progress&lt;T&gt; posts to the thread pool).</summary>
    private sealed class SyncProgress(Action<(int, int, string)> report) : IProgress<(int Done, int Total, string Label)>
    {
        public void Report((int Done, int Total, string Label) value) => report(value);
    }
}
