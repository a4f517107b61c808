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
    [Fact]
    public void A_layer_the_model_lacks_is_refused_after_the_model_loads_and_before_any_run_folder_exists()
    {
        var output = Path.Combine(Path.GetTempPath(), "attneval-rhythm-" + Guid.NewGuid().ToString("N")[..10]);
        var (code, _, stderr) = AttnEvalProcess.Run(SharedData.RepoRoot, ["run", "recipes/reasoning-rhythm.yaml", "--set", $"output.dir={output}",
            "--set", "analysis.layers=[1, 7]", .. AttnEvalProcess.PluginArgs()]);
        code.Should().Be(2, stderr);
        stderr.Should().Contain("recipes/reasoning-rhythm.yaml: analysis.layers: layer 7 is outside the model's 0…3");
        Directory.Exists(output).Should().BeFalse("a refusal before the run leaves no folder behind");
    }
}
