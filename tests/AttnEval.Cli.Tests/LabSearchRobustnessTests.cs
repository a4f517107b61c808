using System.Text.Json.Nodes;
using AttnEval.TestSupport;

namespace AttnEval.Cli.Tests;

/// <summary>
/// Issue 9's proof on the embedded lab model: <c>recipes/search-robustness.yaml</c> as shipped (first 50 questions) has
/// clean accuracy ≥ 90%, distractor and counterfactual results each drop accuracy with a paired-bootstrap interval
/// that excludes zero, and a second run writes byte-identical <c>episodes.jsonl</c>.
/// </summary>
[Collection("attneval processes")]
public sealed class LabSearchRobustnessTests
{
    private static string RunOnce(string output) => AttnEvalProcess.RunRepoRecipe(output, "recipes/search-robustness.yaml", "--limit", "50");

    [Fact]
    public void The_lab_agent_is_accurate_when_clean_is_hurt_by_distractors_and_counterfactuals_and_runs_deterministically()
    {
        var root = Path.Combine(Path.GetTempPath(), "attneval-labsearch-" + Guid.NewGuid().ToString("N")[..10]);
        try
        {
            var first = RunOnce(Path.Combine(root, "a"));
            var second = RunOnce(Path.Combine(root, "b"));

            var episodes = File.ReadAllLines(Path.Combine(first, "episodes.jsonl"));
            episodes.Should().HaveCount(50 * 10, "50 questions under the clean condition and 9 perturbations");
            File.ReadAllLines(Path.Combine(second, "episodes.jsonl")).Should().Equal(episodes, "same recipe, seeds and model");

            var conditions = JsonNode.Parse(File.ReadAllText(Path.Combine(first, "summary.json")))!["analysis"]!["conditions"]!;
            ((double)conditions["clean"]!["accuracy"]!).Should().BeGreaterThanOrEqualTo(0.9);
            foreach (var name in new[] { "R-DISTR(m=2,position=top)", "R-MISLEAD(when=first_call)" })
            {
                var drop = conditions[name]!["delta_acc"]!;
                ((double)drop["ci_low"]!).Should().BeGreaterThan(0, $"{name} must hurt accuracy (drop {drop.ToJsonString()})");
            }
            ((double)conditions["R-SHUF"]!["delta_acc"]!["value"]!).Should().Be(0, "the lab agent reads every passage, so reordering three of them changes nothing");

            // Every episode logs its tool calls with the passages returned; injected passages are never gold.
            var records = episodes.Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
            records.Where(r => (string)r["condition"]! == "clean").Should().OnlyContain(r => r["searches"]!.AsArray().Count >= 1);
            records.SelectMany(r => r["searches"]!.AsArray()).SelectMany(s => s!["results"]!.AsArray())
                .Where(p => p!["injected"] != null).Should().NotBeEmpty().And.OnlyContain(p => !(bool)p!["gold"]!);
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { }
        }
    }
}
