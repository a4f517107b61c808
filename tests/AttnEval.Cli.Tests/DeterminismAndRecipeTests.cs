using System.Text.Json.Nodes;
using AttnEval.TestSupport;

namespace AttnEval.Cli.Tests;

/// <summary>Same recipe, same seed → same <c>samples.jsonl</c> (DESIGN.md §10), including the estimators over seeded sampled
/// answers; and the ready recipes of <c>recipes/</c> validate and run on real data.</summary>
[Collection("attneval processes")]
public sealed class DeterminismAndRecipeTests
{
    private static readonly string[] SampledMetrics =
    [
        "--set", "generation.samples=4",
        "--set", "metrics=[msp, predictive-entropy, ln-predictive-entropy, semantic-entropy, discrete-semantic-entropy, lexical-similarity, eigv, degree, eccentricity, fake-attention]",
    ];

    private static string RunOnce(string work, params string[] extra)
    {
        var before = Directory.Exists(Path.Combine(work, "runs")) ? Directory.GetDirectories(Path.Combine(work, "runs")) : [];
        var (code, _, stderr) = AttnEvalProcess.Run(work, ["run", "fake-run.yaml", .. SampledMetrics, .. extra, .. AttnEvalProcess.PluginArgs()]);
        code.Should().Be(0, stderr);
        return Directory.GetDirectories(Path.Combine(work, "runs")).Except(before).Single();
    }

    [Fact]
    public void The_same_recipe_run_twice_writes_identical_samples_including_sampled_answer_estimators()
    {
        var work = AttnEvalProcess.FreshWorkDir();
        var first = RunOnce(work);
        Thread.Sleep(1100); // run folders are named by the UTC second
        var second = RunOnce(work);

        var a = File.ReadAllLines(Path.Combine(first, "samples.jsonl"));
        var b = File.ReadAllLines(Path.Combine(second, "samples.jsonl"));
        a.Should().HaveCount(24);
        b.Should().Equal(a, "the recipe, seeds and model are the same");

        // The comparison is not vacuous: samples were drawn, differ from each other, and every estimator has a value.
        var records = a.Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        records.Should().OnlyContain(r => r["sampled_answers"]!.AsArray().Count == 4 && r["errors"] == null);
        records.Count(r => r["sampled_answers"]!.AsArray().Select(x => (string)x!).Distinct().Count() > 1).Should().BeGreaterThan(12);
        records.Should().OnlyContain(r => r["metrics"]!.AsObject().Count == 10);
        records.Select(r => (double)r["metrics"]!["semantic-entropy"]!["uncertainty"]!).Distinct().Count().Should().BeGreaterThan(1);
        WithoutCost(second).Should().Be(WithoutCost(first), "everything but the wall-clock cost section is determined by the recipe");

        // Another sampling seed draws other answers: the values follow the seed, not chance.
        var other = File.ReadAllLines(Path.Combine(RunOnce(AttnEvalProcess.FreshWorkDir(), "--set", "generation.seed=8"), "samples.jsonl"));
        other.Select(l => JsonNode.Parse(l)!["sampled_answers"]!.ToJsonString())
            .Should().NotEqual(records.Select(r => r["sampled_answers"]!.ToJsonString()));
    }

    [Fact]
    public void Run_draws_the_figures_and_report_redraws_them_from_the_folder()
    {
        var work = AttnEvalProcess.FreshWorkDir();
        var dir = RunOnce(work);
        var plots = Path.Combine(dir, "plots");
        var methods = SampledMetrics[^1]["metrics=[".Length..^1].Split(", ");
        var withConfidence = File.ReadAllLines(Path.Combine(dir, "samples.jsonl")).Select(l => JsonNode.Parse(l)!["metrics"]!.AsObject())
            .SelectMany(m => m.Where(kv => kv.Value?["confidence"] is not null).Select(kv => kv.Key)).Distinct().ToList();
        withConfidence.Should().Contain("msp");
        string[] Figures() => [.. Directory.GetFiles(plots, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(plots, f))];
        string[] expected =
        [
            "roc.svg", "accuracy-rejection.svg", .. methods.Select(m => $"roc/{m}.svg"), .. methods.Select(m => $"accuracy-rejection/{m}.svg"),
            .. withConfidence.Select(m => $"reliability/{m}.svg"),
        ];
        Figures().Should().BeEquivalentTo(expected, "a base and a layer per method for ROC and accuracy–rejection, a reliability panel per method with a confidence");
        Directory.Delete(plots, recursive: true);
        File.Delete(Path.Combine(dir, "report.html"));

        AttnEvalProcess.Run(work, "report", dir).ExitCode.Should().Be(0);
        Figures().Should().BeEquivalentTo(expected);
        File.ReadAllText(Path.Combine(dir, "report.html")).Should().Contain("<img src=\"plots/roc.svg\"").And.Contain("4 sampled answers");
    }

    [SkippableFact]
    public void Ready_recipes_validate_as_they_are_and_name_a_missing_model_clearly()
    {
        SharedData.Require("models/stories260K/stories260K.bin");
        var root = SharedData.RepoRoot;
        var (code, stdout, stderr) = AttnEvalProcess.Run(root, ["validate", "recipes/uqac-gsm8k.yaml", "recipes/sar-triviaqa.yaml", .. AttnEvalProcess.PluginArgs()]);
        code.Should().Be(0, stdout + stderr);
        stdout.Should().Contain("recipes/uqac-gsm8k.yaml: ok").And.Contain("recipes/sar-triviaqa.yaml: ok");

        (code, stdout, _) = AttnEvalProcess.Run(root, ["validate", "recipes/uqac-gsm8k.yaml", "--set", "model.path=/no/such/model", .. AttnEvalProcess.PluginArgs()]);
        code.Should().Be(2);
        stdout.Trim().Should().Be("<command line>:0:1: --set 'model.path=/no/such/model': model.path: model '/no/such/model' not found");
    }

    [SkippableFact]
    public void Uqac_gsm8k_runs_on_real_data_with_stories260k_and_degrades_gracefully_when_every_answer_is_wrong()
    {
        SharedData.Require("models/stories260K/stories260K.bin");
        SharedData.Require("gsm8k/test.jsonl");
        var work = Path.Combine(Path.GetTempPath(), "attneval-gsm8k-" + Guid.NewGuid().ToString("N")[..8]);
        var (code, stdout, stderr) = AttnEvalProcess.Run(SharedData.RepoRoot,
        [
            "run", "recipes/uqac-gsm8k.yaml", "--limit", "3", "--set", "generation.max_new_tokens=24", "--set", "generation.samples=2",
            "--set", "evaluation.bootstrap=20", "--set", $"output.dir={work}", .. AttnEvalProcess.PluginArgs(),
        ]);
        code.Should().Be(0, stdout + stderr);
        var dir = Directory.GetDirectories(work).Single();
        var records = File.ReadAllLines(Path.Combine(dir, "samples.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        records.Should().HaveCount(3).And.OnlyContain(r => r["correct"]!.GetValue<bool>() == false, "a story model does not solve GSM8K");
        records.Should().OnlyContain(r => ((string)r["judge"]!["expected"]!).Length > 0, "the judge read the GSM8K '#### N' targets");

        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")))!;
        ((double)summary["accuracy"]!).Should().Be(0);
        foreach (var m in new[] { "msp", "semantic-entropy", "eigv" })
        {
            summary["methods"]![m]!["auroc"]!["value"].Should().BeNull();
            ((string)summary["methods"]![m]!["auroc"]!["note"]!).Should().Contain("all 3 judged samples are wrong");
        }
        // With no correct answer there is no ROC curve; the other figures and the report are still written.
        Directory.GetFiles(Path.Combine(dir, "plots")).Select(Path.GetFileName).Should().BeEquivalentTo(["accuracy-rejection.svg"]);
        Directory.GetDirectories(Path.Combine(dir, "plots")).Select(Path.GetFileName).Should().BeEquivalentTo(["accuracy-rejection", "reliability"]);
        File.ReadAllText(Path.Combine(dir, "report.html")).Should().Contain("<th>uqac</th>").And.NotContain("plots/roc");
        Directory.Delete(work, recursive: true);
    }

    /// <summary>A run's summary.json without its wall-clock <c>cost</c> section, which alone differs between runs; the
    /// section must be there (each method timed), so dropping it hides nothing else.</summary>
    internal static string WithoutCost(string runDir)
    {
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(runDir, "summary.json")))!.AsObject();
        var cost = summary["cost"]!.AsObject();
        ((double)cost["generate_seconds"]!).Should().BeGreaterThan(0);
        cost["methods"]!.AsObject().Select(m => m.Key).Should().BeEquivalentTo(summary["methods"]!.AsObject().Select(m => m.Key));
        summary.Remove("cost");
        return summary.ToJsonString();
    }
}
