using System.Text.Json.Nodes;
using AttnEval.TestSupport;

namespace AttnEval.Cli.Tests;

/// <summary>
/// Issue 6's proofs on the embedded lab model, run through the shipped recipes as a user would: the named heads' ablation
/// against random heads of the same number.
/// </summary>
[Collection("attneval processes")]
public sealed class LabHeadAnalysisTests
{
    private static JsonNode RunRecipe(string recipe, params string[] extra)
    {
        var output = Path.Combine(Path.GetTempPath(), "attneval-labheads-" + Guid.NewGuid().ToString("N")[..10]);
        try
        {
            var dir = AttnEvalProcess.RunRepoRecipe(output, recipe, extra);
            return JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")))!;
        }
        finally
        {
            try { Directory.Delete(output, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public void Ablating_the_four_retrieval_heads_breaks_key_value_copying_and_four_random_heads_do_not()
    {
        var summary = RunRecipe("recipes/retrieval-heads.yaml", "--limit", "100", "--set", "metrics.0.ablation_draws=5");
        var analysis = summary["analyses"]!["retrieval-heads"]!;
        var top = analysis["top"]!.AsArray().Take(4).Select(t => (string)t!["head"]!).ToList();
        top.Should().BeEquivalentTo(["1-0", "1-1", "1-2", "1-3"], "the four layer-1 heads copy the value at the decode step");
        analysis["top"]!.AsArray().Take(4).Should().OnlyContain(t => (double)t!["score"]! > 0.4);
        ((double)analysis["top"]![4]!["score"]!).Should().BeLessThan(0.1, "no other head is a retrieval head (threshold 0.1)");

        var check = analysis["summary"]!["ablation"]!;
        double @base = (double)check["base"]!, named = (double)check["named"]!, random = (double)check["random_mean"]!;
        @base.Should().BeGreaterThan(0.9);
        (@base - named).Should().BeGreaterThanOrEqualTo(0.5, "the top-4 ablation drops key-value accuracy by at least 50 points");
        (@base - random).Should().BeLessThanOrEqualTo(0.1, "4 random heads (head 0-3 left out, see the recipe) drop it by at most 10 points");
    }

    [Fact]
    public void Attention_influence_separates_documents_that_need_lookup_and_random_heads_separate_them_less()
    {
        var summary = RunRecipe("recipes/attention-influence.yaml");
        var scorer = summary["scorers"]!["attention-influence"]!;
        ((int)scorer["n"]!).Should().Be(200);
        ((double)scorer["label"]!["auroc"]!).Should().BeGreaterThanOrEqualTo(0.8, "the score separates documents that need long-range lookup");
        var check = scorer["selection"]!["summary"]!["corpus_check"]!;
        check["heads"]!.AsArray().Select(h => (string)h!).Should().BeEquivalentTo(["1-0", "1-1", "1-2", "1-3"]);
        ((double)check["named"]!).Should().BeGreaterThan((double)check["random_mean"]! + 0.1, "random heads give the score less separation");
    }

    [Fact]
    public void Safety_heads_on_the_lab_model_are_read_as_degenerate_because_the_set_breaks_benign_answers()
    {
        var summary = RunRecipe("recipes/safety-heads.yaml", "--limit", "100", "--set", "metrics.0.queries=20", "--set", "metrics.0.ablation_draws=3");
        var s = summary["analyses"]!["safety-heads"]!["summary"]!;
        s["sahara_heads"]!.AsArray().Select(h => (string)h!).Should().OnlyContain(h => h.StartsWith("0-", StringComparison.Ordinal) || h.StartsWith("2-", StringComparison.Ordinal),
            "generalized Ships ranks the layer-0 heads every token goes through first");
        var reading = s["reading"]!;
        ((double)s["ablation"]!["base"]!).Should().Be(0, "the lab model refuses every flagged instruction");
        ((double)reading["benign_change"]!).Should().BeLessThan(-0.5);
        ((bool)reading["degenerate"]!).Should().BeTrue("compliance judged by keywords on broken output is not safety removed");
        ((double)s["benign_correct"]!["random_mean"]!).Should().BeGreaterThan(0.5);
    }
}
