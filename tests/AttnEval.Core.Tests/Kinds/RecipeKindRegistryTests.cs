using System.Text.Json.Nodes;
using AttnEval.Abstractions;
using AttnEval.Core.Kinds;
using AttnEval.Core.Plugins;
using AttnEval.Core.Recipes;
using AttnEval.Core.Reports;
using AttnEval.Core.Runs;
using NSubstitute;

namespace AttnEval.Core.Tests.Kinds;

/// <summary>The kind registry (issue 17): a kind a plugin brings through <see cref="IRecipeKind"/> is validated by the recipe loader
/// against its declaration, run by <see cref="RecipeRun"/> in one call, summarised from what it returns and reported in the host's
/// page; the built-in kinds are the registry's first entries and cannot be replaced.</summary>
public sealed class RecipeKindRegistryTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "attneval-kinds-" + Guid.NewGuid().ToString("N")[..10]);

    public RecipeKindRegistryTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>Counts the characters of each rendered prompt, times <c>scale</c>; remembers which items it computed.</summary>
    private sealed class CharCountKind : IRecipeKind
    {
        public List<string> Computed { get; } = [];
        public bool ThrowInReport { get; init; }
        public string Name => "char-count";
        public string Description => "test kind: characters per prompt";
        public IReadOnlyList<OptionSpec> Options => [new("scale", OptionType.Number, 1.0, "multiplies each count") { Min = 0 }];
        public RecipeKindInputs Inputs => RecipeKindInputs.Dataset | RecipeKindInputs.Prompt;

        public RecipeKindResult Run(RecipeKindContext context, CancellationToken cancellationToken = default)
        {
            double scale = context.Options.GetDouble("scale"), total = 0;
            foreach (var s in context.Samples)
            {
                double chars;
                if (context.ResumedRecords.TryGetValue(s.Id, out var json)) chars = (double)JsonNode.Parse(json)!["chars"]!;
                else
                {
                    if (s.Id == "stop") throw new OperationCanceledException();
                    chars = context.RenderPrompt(s).Length * scale;
                    Computed.Add(s.Id);
                    context.Record(new Dictionary<string, object?> { ["id"] = s.Id, ["chars"] = chars });
                }
                total += chars;
            }
            return new RecipeKindResult(new Dictionary<string, object?> { ["total"] = total, ["items"] = context.Samples.Count })
            {
                Conclusion = $"{total} characters",
                Artifacts = ["none.txt"],
            };
        }

        public string RenderReport(RecipeKindReport report) => ThrowInReport
            ? throw new InvalidOperationException("no page today")
            : $"<p id=\"total\">total {report.Summary["result"]!["total"]} over {report.Records.Count} records</p>";
    }

    private static IComponentCatalog Catalog(IRecipeKind kind) => new ComponentCatalog([], [], [ToyBackend.Create()], kinds: [new PluginRecipeKind(kind, "test-plugin")]);

    private string Write(string body, string data = "{\"id\":\"a\",\"text\":\"ab\"}\n{\"id\":\"b\",\"text\":\"abcd\"}\n")
    {
        File.WriteAllText(Path.Combine(_dir, "d.jsonl"), data);
        Directory.CreateDirectory(Path.Combine(_dir, "model"));
        var path = Path.Combine(_dir, "r.yaml");
        File.WriteAllText(path, $"""
            name: t
            kind: char-count
            model: {"{"} path: model, backend: toy {"}"}
            output: {"{"} dir: {Path.Combine(_dir, "runs")} {"}"}
            {body}
            """);
        return path;
    }

    [Fact]
    public void A_plugin_kind_runs_in_one_call_and_its_summary_is_what_it_returned()
    {
        var kind = new CharCountKind();
        var catalog = Catalog(kind);
        var path = Write("""
            dataset: { path: d.jsonl, input: text, target: null, id: id }
            prompt: { template: "Q: {{text}}" }
            analysis: { scale: 2 }
            """);
        var outcome = RecipeRun.Run(catalog, path);
        // "Q: ab" = 5 characters, "Q: abcd" = 7; times 2.
        kind.Computed.Should().Equal("a", "b");
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(outcome.RunDir, RunFolder.SummaryFile)))!.AsObject();
        summary.ToJsonString().Should().Be(
            """{"schema_version":1,"name":"t","kind":"char-count","model":""" + JsonValue.Create(Path.Combine(_dir, "model"))!.ToJsonString()
            + ""","n_samples":2,"n_errors":0,"status":"ok","conclusion":"24 characters","artifacts":["none.txt"],"result":{"total":24,"items":2}}""");
        outcome.Lines.Should().Equal("t: 2 records, 0 with errors", "24 characters", $"run folder: {outcome.RunDir}", $"report:     {Path.Combine(outcome.RunDir, "report.html")}");
        outcome.Failed.Should().BeFalse();
        RunFolder.ReadSamples(outcome.RunDir).Select(r => r.ToJsonString()).Should().Equal("""{"id":"a","chars":10}""", """{"id":"b","chars":14}""");
        File.Exists(Path.Combine(outcome.RunDir, "report.html")).Should().BeFalse("a run never renders; the report pipeline does");
        HtmlReport.Write(outcome.RunDir, catalog.Kinds);
        var html = File.ReadAllText(Path.Combine(outcome.RunDir, "report.html"));
        html.Should().Contain("<p id=\"total\">total 24 over 2 records</p>").And.Contain("kind char-count (test-plugin)").And.Contain("<div>24 characters</div>");
        ((string?)JsonNode.Parse(File.ReadAllText(Path.Combine(outcome.RunDir, RunFolder.ManifestFile)))!["kind"]).Should().Be("char-count");

        // Re-rendered from the files with the catalog's kinds: the same page; without the plugin the kind is named as missing.
        HtmlReport.Write(outcome.RunDir, catalog.Kinds);
        File.ReadAllText(Path.Combine(outcome.RunDir, "report.html")).Should().Be(html);
        var act = () => HtmlReport.Write(outcome.RunDir);
        act.Should().Throw<InvalidDataException>().WithMessage("*kind 'char-count', which no installed plugin provides*");
    }

    [Fact]
    public void An_interrupted_plugin_run_resumes_from_its_records_and_counts_them_once()
    {
        var kind = new CharCountKind();
        var catalog = Catalog(kind);
        var path = Write("dataset: { path: d.jsonl, input: text, target: null, id: id }",
            "{\"id\":\"a\",\"text\":\"ab\"}\n{\"id\":\"stop\",\"text\":\"x\"}\n");
        var act = () => RecipeRun.Run(catalog, path);
        act.Should().Throw<OperationCanceledException>();
        var dir = Directory.GetDirectories(Path.Combine(_dir, "runs")).Single();
        File.Exists(Path.Combine(dir, RunFolder.SummaryFile)).Should().BeFalse();

        File.WriteAllText(Path.Combine(_dir, "d.jsonl"), "{\"id\":\"a\",\"text\":\"ab\"}\n{\"id\":\"stop\",\"text\":\"x\"}\n".Replace("stop", "c"));
        var recipe = new RecipeLoader(catalog).Load(path, []);
        var outcome = RecipeRun.Run(catalog, recipe, dir);
        kind.Computed.Should().Equal("a", "c");
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, RunFolder.SummaryFile)))!;
        ((int)summary["n_samples"]!).Should().Be(2);
        // No prompt section: the prompt is the input itself, "ab" (2, from the first attempt's record) and "x" (1).
        ((double)summary["result"]!["total"]!).Should().Be(2 + 1);
        outcome.RunDir.Should().Be(dir);
    }

    [Fact]
    public void The_loader_holds_a_plugin_kind_to_the_sections_and_options_it_declares()
    {
        var catalog = Catalog(new CharCountKind());
        var loader = new RecipeLoader(catalog);
        var act = () => loader.Load(Write("""
            judge: numeric-final-answer
            metrics: [msp]
            analysis: { scale: -1, scael: 2 }
            """), []);
        var errors = act.Should().Throw<RecipeException>().Which.Errors.Select(e => e.Message).ToList();
        errors.Should().Contain("dataset is required for kind 'char-count'")
            .And.Contain("judge: kind 'char-count' uses no judge; remove the section")
            .And.Contain("metrics: kind 'char-count' takes no metrics; remove the section")
            .And.Contain(m => m.StartsWith("analysis.scale: -1 is out of range", StringComparison.Ordinal))
            .And.Contain("unknown key 'scael' in analysis; did you mean 'scale'?");

        // Generation keys the kind does not honour are refused unless they hold their default (a resolved recipe writes
        // every default and still loads); char-count declares no Sampling, so the decoding keys are refused too.
        var gen = () => loader.Load(Write("""
            dataset: { path: d.jsonl, input: text, target: null, id: id }
            generation: { max_new_tokens: 8, samples: 3, temperature: 0.7, batch_size: 8, seed: 4 }
            """), []);
        gen.Should().Throw<RecipeException>().Which.Errors.Select(e => e.Message).Should().BeEquivalentTo(
            "generation.samples: kind 'char-count' does not use it (it uses max_new_tokens, seed, stop); remove the key",
            "generation.temperature: kind 'char-count' does not use it (it uses max_new_tokens, seed, stop); remove the key");
        var loaded = loader.Load(Write("dataset: { path: d.jsonl, input: text, target: null, id: id }"), []);
        File.WriteAllText(Path.Combine(_dir, "resolved.yaml"), loaded.ToResolvedYaml());
        loader.Load(Path.Combine(_dir, "resolved.yaml"), []).Hash.Should().Be(loaded.Hash);

        // Defaults apply without an analysis section; the kind is a choice the loader lists.

        var recipe = loader.Load(Write("dataset: { path: d.jsonl, input: text, target: null, id: id }"), []);
        recipe.Kind.Should().Be("char-count");
        recipe.Analysis.Should().Contain("scale", 1.0);
        var unknown = () => loader.Load(Write("dataset: { path: d.jsonl, input: text, target: null, id: id }").Replace("r.yaml", "r.yaml"), ["kind=char-cont"]);
        unknown.Should().Throw<RecipeException>().Which.Errors.Single().Message
            .Should().Contain("'char-cont' is not one of uncertainty, head-attribution, data-scoring, agent-robustness, char-count");
    }

    [Fact]
    public void Built_in_kinds_cannot_be_replaced_and_a_failing_report_fragment_leaves_a_page_that_says_so()
    {
        var clash = Substitute.For<IRecipeKind>();
        clash.Name.Returns(BuiltInKinds.Uncertainty);
        var act = () => new ComponentCatalog([], [], [], kinds: [new PluginRecipeKind(clash, "impostor")]);
        act.Should().Throw<ArgumentException>().WithMessage("recipe kind 'uncertainty' of impostor is already provided by core*");
        BuiltInKinds.All.Select(k => k.Name).Should().Equal("uncertainty", "head-attribution", "data-scoring", "agent-robustness");

        var catalog = Catalog(new CharCountKind { ThrowInReport = true });
        var outcome = RecipeRun.Run(catalog, Write("dataset: { path: d.jsonl, input: text, target: null, id: id }"));
        HtmlReport.Write(outcome.RunDir, catalog.Kinds);
        File.ReadAllText(Path.Combine(outcome.RunDir, "report.html"))
            .Should().Contain("The report of kind 'char-count' could not be rendered: InvalidOperationException: no page today");
        File.Exists(Path.Combine(outcome.RunDir, RunFolder.SummaryFile)).Should().BeTrue("a report that fails never costs the results");
    }
}
