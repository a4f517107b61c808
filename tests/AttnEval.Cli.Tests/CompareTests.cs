using System.Text.Json.Nodes;

namespace AttnEval.Cli.Tests;

/// <summary><c>attneval compare</c> on two quickstart runs (lab model, shipped in the repository) whose sampled answers
/// differ by seed: greedy estimators are identical (Δ exactly 0), sample-based ones are not, and both runs share every id.</summary>
[Collection("attneval processes")]
public sealed class CompareTests : IDisposable
{
    private readonly string _out = Directory.CreateTempSubdirectory("attneval-compare-e2e-").FullName;

    public void Dispose() => Directory.Delete(_out, recursive: true);

    [Fact]
    public void Two_quickstart_runs_with_different_seeds_compare_side_by_side_with_paired_differences()
    {
        string[] common = ["--limit", "30", "--set", "metrics=[msp, uqac, predictive-entropy]", "--set", "generation.samples=3"];
        var first = AttnEvalProcess.RunRepoRecipe(Path.Combine(_out, "seed7"), "recipes/quickstart.yaml", [.. common, "--set", "generation.seed=7"]);
        var second = AttnEvalProcess.RunRepoRecipe(Path.Combine(_out, "seed8"), "recipes/quickstart.yaml", [.. common, "--set", "generation.seed=8"]);
        var cmpDir = Path.Combine(_out, "cmp");

        var (code, stdout, stderr) = AttnEvalProcess.Run(_out, "compare", first, second, "--out", cmpDir, "--json");
        code.Should().Be(0, stderr);
        var json = JsonNode.Parse(stdout)!.AsObject();
        json["runs"]!.AsArray().Select(r => (int)r!["n_samples"]!).Should().Equal(30, 30);
        var methods = json["methods"]!.AsObject();
        methods.Select(m => m.Key).Should().Equal("msp", "uqac", "predictive-entropy");
        foreach (var greedy in new[] { "msp", "uqac" })
        {
            var d = methods[greedy]!["paired"]!["auroc"]![0]!;
            ((int)d["shared"]!).Should().Be(30, "every id is in both runs");
            ((double)d["delta"]!).Should().Be(0, $"{greedy} reads the greedy answer only, the same under both seeds");
        }
        var sampled = methods["predictive-entropy"]!["paired"]!["auroc"]![0]!;
        ((double)sampled["ci_low"]!).Should().BeLessThanOrEqualTo((double)sampled["delta"]!).And.BeLessThan((double)sampled["ci_high"]!,
            "sampled answers differ between seeds, so the paired replicates vary");
        File.ReadAllText(Path.Combine(cmpDir, "compare.html")).Should().Contain("predictive-entropy").And.Contain("Paired differences to run 1");
        JsonNode.Parse(File.ReadAllText(Path.Combine(cmpDir, "compare.json")))!["methods"]!.AsObject().Count.Should().Be(3);

        var table = AttnEvalProcess.Run(_out, "compare", first, second, "--out", cmpDir);
        table.ExitCode.Should().Be(0, table.Stderr);
        table.Stdout.Should().Contain("AUROC (higher is better)").And.Contain("Δ run 2 − run 1 (paired)").And.Contain("n=30");

        var bad = AttnEvalProcess.Run(_out, "compare", first, Path.Combine(_out, "nope"));
        bad.ExitCode.Should().Be(2);
        bad.Stderr.Trim().Should().Be($"attneval: {Path.Combine(_out, "nope")}: no such folder; expected a run folder written by 'attneval run' (runs/<name>-<utc>/)");
    }
}
