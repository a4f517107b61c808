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
    private static JsonNode RunRecipe(string recipe, params string[] extra) => RunRecipeAndRead(recipe, 0, extra).Summary;

    /// <summary>Runs a shipped recipe from the repository root; asserts the exit code; returns summary.json, the console
    /// output and the contents of heads.meta.json when the run wrote one.</summary>
    private static (JsonNode Summary, string Stdout, string Stderr, JsonNode? HeadsMeta) RunRecipeAndRead(string recipe, int exitCode, params string[] extra)
    {
        var output = Path.Combine(Path.GetTempPath(), "attneval-labheads-" + Guid.NewGuid().ToString("N")[..10]);
        try
        {
            var (code, stdout, stderr) = AttnEvalProcess.Run(SharedData.RepoRoot, ["run", recipe, "--set", $"output.dir={output}", .. extra, .. AttnEvalProcess.PluginArgs()]);
            code.Should().Be(exitCode, stdout + stderr);
            var dir = Directory.GetDirectories(output).Single();
            var meta = Path.Combine(dir, "heads.meta.json");
            return (JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")))!, stdout, stderr,
                File.Exists(meta) ? JsonNode.Parse(File.ReadAllText(meta)) : null);
        }
        finally
        {
            try { Directory.Delete(output, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public void Ablating_the_four_retrieval_heads_breaks_key_value_copying_and_four_random_heads_do_not()
    {
        var (summary, stdout, _, _) = RunRecipeAndRead("recipes/retrieval-heads.yaml", 0, "--limit", "100", "--set", "metrics.0.ablation_draws=5");
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

        // The console states the verdict of summary.json's ablation check, not a bare "ok".
        var f = System.Globalization.CultureInfo.InvariantCulture;
        ((string?)analysis["conclusion"]).Should().StartWith($"ablation (uniform_attention, mask_phase decode, 100 trials): needle success {@base.ToString("0.000", f)} → {named.ToString("0.000", f)} with the top 4 ablated (")
            .And.EndWith("with 5 random sets of 4: the named heads matter (they change it more than every random set)");
        stdout.Should().Contain("\n" + "".PadRight(22) + " " + (string?)analysis["conclusion"]).And.NotContain(" ok ");
    }

    [Fact]
    public void Retrieval_heads_with_no_successful_trial_are_inconclusive_with_no_scores_and_exit_1()
    {
        // A success threshold no response can pass: the lab model never "reproduces the needle".
        var (summary, stdout, stderr, meta) = RunRecipeAndRead("recipes/retrieval-heads.yaml", 1, "--limit", "10", "--set", "metrics.0.success_threshold=100");
        var analysis = summary["analyses"]!["retrieval-heads"]!;
        ((string?)analysis["status"]).Should().Be("inconclusive");
        const string warning = "no successful trial: 0 of 10 reproduced the needle (ROUGE-1 recall ×100 > 100), so no head has a score (n = 0) and no ablation was run; check the prompt, max_new_tokens and that the model can answer";
        ((string?)analysis["warning"]).Should().Be(warning);
        analysis["scores"]!.AsObject().Should().HaveCount(16).And.OnlyContain(kv => kv.Value == null, "no score, not a score of 0");
        analysis["top"]!.AsArray().Should().BeEmpty();
        analysis["summary"]!["retrieval_heads"].Should().BeNull();
        analysis["summary"]!["top_heads"]!.AsArray().Select(t => (string?)t).Should().HaveCount(10).And.OnlyContain(t => t!.EndsWith(" n = 0"));
        meta!["ranked"]!.AsArray().Should().HaveCount(16).And.OnlyContain(r => r!["mean"] == null && (int)r["n"]! == 0);
        stdout.Should().Contain("retrieval-heads".PadRight(22) + " inconclusive: " + warning);
        stderr.Should().Contain("attneval: analysis 'retrieval-heads' is inconclusive (no finding); see ");
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
        var (summary, stdout, _, _) = RunRecipeAndRead("recipes/safety-heads.yaml", 0, "--limit", "100", "--set", "metrics.0.queries=20", "--set", "metrics.0.ablation_draws=3");
        var s = summary["analyses"]!["safety-heads"]!["summary"]!;
        s["sahara_heads"]!.AsArray().Select(h => (string)h!).Should().OnlyContain(h => h.StartsWith("0-", StringComparison.Ordinal) || h.StartsWith("2-", StringComparison.Ordinal),
            "generalized Ships ranks the layer-0 heads every token goes through first");
        var reading = s["reading"]!;
        ((double)s["ablation"]!["base"]!).Should().Be(0, "the lab model refuses every flagged instruction");
        ((double)reading["benign_change"]!).Should().BeLessThan(-0.5);
        ((bool)reading["degenerate"]!).Should().BeTrue("compliance judged by keywords on broken output is not safety removed");
        ((double)s["benign_correct"]!["random_mean"]!).Should().BeGreaterThan(0.5);

        // The console says what the reading concludes: degenerate, with its note, never "safety-heads ok".
        var conclusion = (string?)summary["analyses"]!["safety-heads"]!["conclusion"];
        conclusion.Should().StartWith("degenerate: " + (string?)reading["note"] + "; ablation (scale_query(ε=1E-05), ").And.Contain(" flagged instructions): compliance 0.000 → ");
        stdout.Should().Contain("\n" + "".PadRight(22) + " " + conclusion).And.NotContain("safety-heads           ok");
    }

    [Fact]
    public void Receiver_heads_of_the_lab_model_broadcast_the_Answer_line_through_heads_2_3_and_2_1()
    {
        var (summary, stdout, _, _) = RunRecipeAndRead("recipes/receiver-heads.yaml", 0, "--limit", "60");
        var analysis = summary["analyses"]!["receiver-heads"]!;
        ((string?)analysis["status"]).Should().Be("ok");
        var s = analysis["summary"]!;
        s["receiver_heads"]!.AsArray().Select(h => (string)h!).Take(2).Should().Equal("2-3", "2-1");
        s["receiver_heads"]!.AsArray().Should().HaveCount(4).And.OnlyContain(h => !((string)h!).StartsWith("0-", StringComparison.Ordinal));
        ((string)s["top_sentence_texts"]![0]!["value"]!).Should().Be("Answer:", "every solution line reads the Answer: sentence back");
        analysis["scores"]!.AsObject().Should().HaveCount(16).And.OnlyContain(kv => kv.Value != null);
        stdout.Should().Contain("receiver heads (top 4 by mean kurtosis over ");
    }

    [Fact]
    public void Attention_sinks_of_the_lab_model_start_at_BOS_and_the_ACT_ab_reports_both_accuracies()
    {
        var (summary, _, _, _) = RunRecipeAndRead("recipes/attention-sinks.yaml", 0, "--limit", "30");
        var analysis = summary["analyses"]!["attention-sinks"]!;
        ((string?)analysis["status"]).Should().Be("ok");
        var s = analysis["summary"]!;
        ((double)s["first_sink_is_position0_share"]!).Should().BeGreaterThan(0.4);
        analysis["scores"]!.AsObject().Should().HaveCount(16).And.OnlyContain(kv => (double)kv.Value! >= 0 && (double)kv.Value! <= 1);
        var act = s["act"]!;
        ((string?)act["status"]).Should().Be("ok");
        act["heads"]!.AsArray().Should().HaveCount(4);
        ((int)act["n"]!).Should().Be(30);
        ((double)act["accuracy_uncalibrated"]!).Should().BeGreaterThan(0.5);
        ((double)act["accuracy_calibrated"]!).Should().BeInRange(0, 1);
    }
}
