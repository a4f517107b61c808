using System.Text.Json.Nodes;
using AttnEval.Abstractions;
using AttnEval.Core.Plugins;
using AttnEval.Core.Recipes;
using AttnEval.Core.Reports;
using AttnEval.Core.Runs;
using AttnEval.Core.Running;
using NSubstitute;

namespace AttnEval.Core.Tests.Running;

/// <summary>The head-attribution and data-scoring runners (issue 6, part 1) with hand-made parts.</summary>
public sealed class AnalysisRunnerTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "attneval-ar-" + Guid.NewGuid().ToString("N")[..10]);

    public AnalysisRunnerTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    /// <summary>Scores head (l, h) = l + h/10; records one trial per dataset item; throws on the trial named by "fail_at" once.</summary>
    private sealed class ToyAnalysis(List<string> seenResumed, int failAt) : IHeadAnalysisFactory, IHeadAnalysis
    {
        public int Calls;
        public string Name => "toy-heads";
        public string Description => "test";
        public IReadOnlyList<OptionSpec> Options => [];
        public MetricKind Kind => MetricKind.HeadAnalysis;
        public IHeadAnalysis Create(OptionValues options) => this;
        public HeadAnalysisResult Run(HeadAnalysisContext ctx, CancellationToken ct)
        {
            Calls++;
            seenResumed.AddRange(ctx.ResumedRecords.Keys);
            for (int i = 0; i < ctx.Samples.Count; i++)
            {
                if (i == failAt && Calls == 1) throw new OperationCanceledException("simulated kill");
                ctx.Record(new Dictionary<string, object?> { ["id"] = ctx.Samples[i].Id, ["prompt"] = ctx.RenderPrompt(ctx.Samples[i]) });
            }
            File.WriteAllText(Path.Combine(ctx.OutputDirectory, "heads.json"), "{}");
            var scores = ctx.Model.Info.AllHeads().ToDictionary(h => h, h => h.Layer + h.Head / 10.0);
            return new HeadAnalysisResult(scores) { Summary = new Dictionary<string, object?> { ["ablation"] = new Dictionary<string, object?> { ["drop"] = 0.5 } }, Artifacts = ["heads.json"] };
        }
    }

    /// <summary>Ran, but no trial succeeded: every head has no score (NaN) and the result says why.</summary>
    private sealed class NoSuccessAnalysis : IHeadAnalysisFactory, IHeadAnalysis
    {
        public string Name => "no-success-heads";
        public string Description => "test";
        public IReadOnlyList<OptionSpec> Options => [];
        public MetricKind Kind => MetricKind.HeadAnalysis;
        public IHeadAnalysis Create(OptionValues options) => this;
        public HeadAnalysisResult Run(HeadAnalysisContext ctx, CancellationToken ct) =>
            new(ctx.Model.Info.AllHeads().ToDictionary(h => h, _ => double.NaN))
            {
                Inconclusive = "no successful trial: 0 of 3",
                Conclusion = "nothing to conclude",
            };
    }

    [Fact]
    public void An_inconclusive_analysis_is_marked_so_with_its_warning_and_heads_without_a_score_are_null_not_zero()
    {
        var catalog = Catalog(new NoSuccessAnalysis(), new ToyAnalysis([], failAt: -1));
        var recipe = Load(catalog, "head-attribution", "no-success-heads, toy-heads", "{\"id\":\"a\",\"text\":\"a\"}\n");
        var dir = new HeadAnalysisRunner(catalog).Run(recipe);

        var analyses = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")))!["analyses"]!;
        var node = analyses["no-success-heads"]!;
        ((string?)node["status"]).Should().Be("inconclusive");
        ((string?)node["warning"]).Should().Be("no successful trial: 0 of 3");
        ((string?)node["conclusion"]).Should().Be("nothing to conclude");
        node["scores"]!.AsObject().Should().HaveCount(6).And.OnlyContain(kv => kv.Value == null);
        node["top"]!.AsArray().Should().BeEmpty();
        ((string?)analyses["toy-heads"]!["status"]).Should().Be("ok");
        analyses["toy-heads"]!.AsObject().Should().NotContainKeys("warning", "conclusion");
        HtmlReport.Write(dir);   // the report pipeline, which attneval run calls after the runner
        File.ReadAllText(Path.Combine(dir, "report.html")).Should().Contain("no successful trial: 0 of 3");
    }

    /// <summary>Score = input length; group = the "domain" field; selects the top half of each group.</summary>
    private sealed class ToyScorer : IDataScorerFactory, IDataScorer
    {
        public int Prepared;
        public string Name => "toy-scorer";
        public string Description => "test";
        public IReadOnlyList<OptionSpec> Options => [];
        public MetricKind Kind => MetricKind.DataScorer;
        public IDataScorer Create(OptionValues options) => this;
        public void Prepare(ILanguageModel model, string outputDirectory, CancellationToken ct = default) => Prepared++;
        public SampleEstimate Score(ILanguageModel model, Sample document, CancellationToken ct = default) =>
            document.Input == "boom" ? throw new InvalidOperationException("bad document")
                : new SampleEstimate(document.Input.Length) { Details = new Dictionary<string, object?> { ["group"] = (string?)document.Field("domain") } };
        public DataSelection Select(IReadOnlyList<ScoredDocument> scored, string outputDirectory) =>
            new(scored.GroupBy(d => d.Group).SelectMany(g => g.OrderByDescending(d => d.Score).Take(g.Count() / 2)).Select(d => d.Id).ToHashSet());
    }

    private static IComponentCatalog Catalog(params IMetricFactory[] metrics) => new ComponentCatalog(metrics, [], [ToyBackend.Create()]);

    private Recipe Load(IComponentCatalog catalog, string kind, string metric, string data, string target = "null")
    {
        File.WriteAllText(Path.Combine(_dir, "d.jsonl"), data);
        Directory.CreateDirectory(Path.Combine(_dir, "model"));
        var path = Path.Combine(_dir, "r.yaml");
        File.WriteAllText(path, $"""
            name: t
            kind: {kind}
            model: {"{"} path: model, backend: toy {"}"}
            dataset: {"{"} path: d.jsonl, input: text, target: {target}, id: id {"}"}
            prompt: {"{"} template: "Q: {"{{"}text{"}}"}" {"}"}
            metrics: [{metric}]
            output: {"{"} dir: {Path.Combine(_dir, "runs")} {"}"}
            """);
        return new RecipeLoader(catalog).Load(path, []);
    }

    [Fact]
    public void Head_analysis_writes_trial_records_result_summary_with_top_heads_and_a_heat_map_and_resumes_after_a_kill()
    {
        var resumed = new List<string>();
        var toy = new ToyAnalysis(resumed, failAt: 2);
        var catalog = Catalog(toy);
        var recipe = Load(catalog, "head-attribution", "toy-heads", "{\"id\":\"a\",\"text\":\"a\"}\n{\"id\":\"b\",\"text\":\"bb\"}\n{\"id\":\"c\",\"text\":\"ccc\"}\n");
        var runner = new HeadAnalysisRunner(catalog);
        var act = () => runner.Run(recipe);
        act.Should().Throw<OperationCanceledException>();
        var dir = Directory.GetDirectories(Path.Combine(_dir, "runs")).Single();
        RunFolder.ReadSamples(dir).Select(r => (string?)r["id"]).Should().Equal("toy-heads/a", "toy-heads/b");

        runner.Run(recipe, dir).Should().Be(dir);
        resumed.Should().BeEquivalentTo(["a", "b"]);
        var recs = RunFolder.ReadSamples(dir);
        recs.Select(r => (string?)r["id"]).Should().Equal("toy-heads/a", "toy-heads/b", "toy-heads/c", "analysis/toy-heads");
        ((string?)recs[0]["prompt"]).Should().Be("Q: a");
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")))!["analyses"]!["toy-heads"]!;
        ((string?)summary["status"]).Should().Be("ok");
        ((int)summary["n_heads"]!).Should().Be(6);
        ((int)summary["n_records"]!).Should().Be(3);
        summary["top"]!.AsArray().Select(t => (string?)t!["head"]).Should().Equal("1-2", "1-1", "1-0", "0-2", "0-1", "0-0");
        ((double)summary["top"]![0]!["score"]!).Should().BeApproximately(1.2, 1e-12);
        ((double)summary["summary"]!["ablation"]!["drop"]!).Should().Be(0.5);
        HtmlReport.Write(dir);   // the report pipeline, which attneval run calls after the runner
        var html = File.ReadAllText(Path.Combine(dir, "report.html"));
        html.Should().Contain("Layer × head heat map").And.Contain("background:rgb(255,0,0)").And.Contain("title=\"1-2: 1.2\"").And.Contain("ablation.drop");

        // finished: a further resume runs nothing again
        runner.Run(recipe, dir);
        toy.Calls.Should().Be(2);
    }

    [Fact]
    public void Data_scoring_scores_each_document_once_records_errors_selects_per_group_and_writes_the_subset()
    {
        var scorer = new ToyScorer();
        var catalog = Catalog(scorer);
        var recipe = Load(catalog, "data-scoring", "toy-scorer",
            """
            {"id":"a","text":"xx","domain":"math"}
            {"id":"b","text":"xxxx","domain":"math"}
            {"id":"c","text":"x","domain":"web"}
            {"id":"d","text":"xxxxxxx","domain":"web"}
            {"id":"e","text":"boom","domain":"web"}

            """);
        var dir = new DataScoringRunner(catalog).Run(recipe);
        var recs = RunFolder.ReadSamples(dir);
        recs.Select(r => (string?)r["id"]).Should().Equal("a", "b", "c", "d", "e");
        ((double)recs[1]["metrics"]!["toy-scorer"]!["score"]!).Should().Be(4);
        ((string?)recs[1]["group"]).Should().Be("math");
        ((string?)recs[4]["errors"]!["toy-scorer"]).Should().Contain("bad document");
        var selected = File.ReadAllLines(Path.Combine(dir, "selected.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        selected.Select(n => (string?)n["id"]).Should().Equal("b", "d");
        ((string?)selected[1]["text"]).Should().Be("xxxxxxx");
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")))!["scorers"]!["toy-scorer"]!;
        ((int)summary["n"]!).Should().Be(4);
        ((int)summary["errors"]!).Should().Be(1);
        ((double)summary["groups"]!["web"]!["mean"]!).Should().Be(4);
        ((int)summary["selection"]!["n_selected"]!).Should().Be(2);
        HtmlReport.Write(dir);   // the report pipeline, which attneval run calls after the runner
        File.ReadAllText(Path.Combine(dir, "report.html")).Should().Contain("Top documents").And.Contain("selection.n_selected");

        summary["label"].Should().BeNull("the recipe names no label field");

        // resume of a finished folder scores nothing again but selects again
        new DataScoringRunner(catalog).Run(recipe, dir);
        RunFolder.ReadSamples(dir).Should().HaveCount(5);
        scorer.Prepared.Should().Be(2);
    }

    [Fact]
    public void A_boolean_target_makes_data_scoring_report_the_auroc_of_each_score_for_the_label_and_a_bad_label_names_the_document()
    {
        var catalog = Catalog(new ToyScorer());
        // scores (input lengths) 4, 2, 3 for true and 1, 3 for false: pairs won 1+1 (4 > 1, 3), 1+0 (2 > 1, 2 < 3),
        // 1+½ (3 > 1, 3 = 3) → 4.5 of 6 = 0.75.
        var recipe = Load(catalog, "data-scoring", "toy-scorer",
            """
            {"id":"a","text":"xxxx","lookup":true}
            {"id":"b","text":"xx","lookup":"yes"}
            {"id":"c","text":"xxx","lookup":1}
            {"id":"d","text":"x","lookup":false}
            {"id":"e","text":"yyy","lookup":"no"}

            """, target: "lookup");
        var dir = new DataScoringRunner(catalog).Run(recipe);
        RunFolder.ReadSamples(dir).Select(r => (bool)r["label"]!).Should().Equal(true, true, true, false, false);
        var label = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")))!["scorers"]!["toy-scorer"]!["label"]!;
        ((double)label["auroc"]!).Should().BeApproximately(0.75, 1e-12);
        ((double)label["mean_true"]!).Should().BeApproximately(3, 1e-12);
        ((double)label["mean_false"]!).Should().BeApproximately(2, 1e-12);
        ((string?)label["field"]).Should().Be("lookup");
        HtmlReport.Write(dir);   // the report pipeline, which attneval run calls after the runner
        File.ReadAllText(Path.Combine(dir, "report.html")).Should().Contain("label.auroc");

        var bad = Load(catalog, "data-scoring", "toy-scorer", "{\"id\":\"a\",\"text\":\"x\",\"lookup\":\"maybe\"}\n", target: "lookup");
        FluentActions.Invoking(() => new DataScoringRunner(catalog).Run(bad)).Should().Throw<RunInputException>()
            .WithMessage("document 'a': dataset.target of a data-scoring recipe is a boolean label (true/false, 1/0, yes/no), got 'maybe'");
    }
}
