using System.Text.Json.Nodes;
using AttnEval.TestSupport;

namespace AttnEval.Cli.Tests;

/// <summary>The seed analysis that brings its own recipe kind (<c>reasoning-rhythm</c>, plugin AttnEval.Metrics.ReasoningRhythm)
/// runs from its shipped recipe through <c>attneval run</c> on the embedded lab model, with no change to <c>src/</c> for its kind.</summary>
[Collection("attneval processes")]
public sealed class ReasoningRhythmRecipeTests
{
    [Fact]
    public void The_shipped_recipe_runs_the_plugin_kind_on_the_lab_model_and_its_summary_matches_its_records()
    {
        var output = Path.Combine(Path.GetTempPath(), "attneval-rhythm-" + Guid.NewGuid().ToString("N")[..10]);
        try
        {
            var dir = AttnEvalProcess.RunRepoRecipe(output, "recipes/reasoning-rhythm.yaml", "--limit", "8");
            var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")))!;
            ((string)summary["kind"]!).Should().Be("reasoning-rhythm");
            ((string)summary["status"]!).Should().Be("ok");
            ((int)summary["n_samples"]!).Should().Be(8);
            var records = File.ReadAllLines(Path.Combine(dir, "samples.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
            records.Should().HaveCount(8).And.OnlyContain(r => r["error"] == null);
            // Each record's series are per answer token; the summary's token count is their sum.
            foreach (var r in records)
            {
                int n = r["tokens"]!.AsArray().Count;
                r["waad"]!.AsArray().Should().HaveCount(n);
                r["fai"]!.AsArray().Should().HaveCount(n);
                r["entropy"]!.AsArray().Should().HaveCount(n);
            }
            var tokens = records.Sum(r => r["tokens"]!.AsArray().Count);
            var result = summary["result"]!;
            ((int)result["response_tokens"]!["min"]!).Should().Be(records.Min(r => r["tokens"]!.AsArray().Count));
            ((int)result["response_tokens"]!["max"]!).Should().Be(records.Max(r => r["tokens"]!.AsArray().Count));
            ((double)result["response_tokens"]!["mean"]!).Should().BeApproximately(tokens / 8.0, 1e-9);
            var html = File.ReadAllText(Path.Combine(dir, "report.html"));
            html.Should().Contain("kind reasoning-rhythm").And.Contain("<svg");
        }
        finally
        {
            try { Directory.Delete(output, recursive: true); } catch (IOException) { }
        }
    }
}
