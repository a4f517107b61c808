using System.Text.Json.Nodes;
using AttnEval.Core.Evaluation;
using AttnEval.Core.Reports;

namespace AttnEval.Core.Tests.Evaluation;

/// <summary><c>attneval compare</c>'s computation on hand-made run folders: paired AUROC differences on shared sample ids
/// (hand-computed), values read from each summary, and one clear error per kind of bad input.</summary>
public sealed class RunComparisonTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("attneval-compare-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A finished run folder with one method <c>m</c> whose uncertainty per id is given.</summary>
    private string Run(string name, (string Id, bool Correct, double U)[] samples, string kind = "uncertainty", double auroc = 0.5)
    {
        var dir = Path.Combine(_dir, name);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "manifest.json"), "{}");
        File.WriteAllText(Path.Combine(dir, "summary.json"), new JsonObject
        {
            ["kind"] = kind, ["name"] = name, ["model"] = "lab", ["n_samples"] = samples.Length, ["accuracy"] = samples.Count(s => s.Correct) / (double)samples.Length,
            ["evaluation_metrics"] = new JsonArray("auroc", "prr"), ["bootstrap"] = 200, ["confidence_level"] = 0.95, ["seed"] = 7,
            ["methods"] = new JsonObject { ["m"] = new JsonObject { ["auroc"] = new JsonObject { ["value"] = auroc, ["ci_low"] = auroc - 0.1, ["ci_high"] = auroc + 0.1 } } },
        }.ToJsonString());
        File.WriteAllLines(Path.Combine(dir, "samples.jsonl"), samples.Select(s => new JsonObject
        {
            ["id"] = s.Id, ["correct"] = s.Correct, ["metrics"] = new JsonObject { ["m"] = new JsonObject { ["uncertainty"] = s.U } },
        }.ToJsonString()));
        return dir;
    }

    [Fact]
    public void Paired_auroc_difference_is_computed_on_the_shared_ids()
    {
        // run a: errors b (0.9) and d (0.3) above both correct answers (0.1, 0.2): AUROC 1.
        var a = Run("a", [("a", true, 0.1), ("b", false, 0.9), ("c", true, 0.2), ("d", false, 0.3)], auroc: 1.0);
        // run b: error b (0.4) is below correct a (0.5), the other three (error, correct) pairs are ordered: AUROC 3/4.
        // Its extra id e is not in run a, so it is not paired.
        var b = Run("b", [("a", true, 0.5), ("b", false, 0.4), ("c", true, 0.1), ("d", false, 0.9), ("e", false, 0.0)], auroc: 0.6);
        var cmp = RunComparison.Load([a, b]);

        cmp.Runs.Select(r => r.Label).Should().Equal("a", "b");
        cmp.Runs[1].Samples.Should().Be(5);
        var m = cmp.Methods.Should().ContainSingle().Subject;
        m.Values["auroc"][0]!.Value.Should().Be(1.0, "each run's own summary value");
        m.Values["auroc"][1]!.Value.Should().Be(0.6);
        m.Values["prr"][0]!.Value.Should().BeNull("the summary has no prr for m");
        var d = m.Paired["auroc"].Should().ContainSingle().Subject;
        d.Shared.Should().Be(4);
        d.Delta.Should().BeApproximately(0.75 - 1.0, 1e-12);
        d.Lower.Should().BeLessThanOrEqualTo(d.Delta!.Value);
        d.Upper.Should().BeGreaterThanOrEqualTo(d.Delta!.Value).And.BeLessThanOrEqualTo(0, "run b never ranks better than run a's perfect order");
        // PRR on the shared ids: run a's order is the oracle (PRR 1), run b's is not.
        m.Paired["prr"][0].Delta.Should().BeLessThan(0);

        var json = cmp.ToJson();
        json["methods"]!["m"]!["paired"]!["auroc"]![0]!["delta"]!.GetValue<double>().Should().BeApproximately(-0.25, 1e-12);
        json["paired"]!["reference"]!.GetValue<string>().Should().Be("a");
        var html = CompareReport.Render(cmp);
        html.Should().Contain("-0.250").And.Contain("4 shared").And.Contain("<td class=\"num best\">1.000");
        string.Join("\n", cmp.Describe()).Should().Contain("-0.250 [").And.Contain("n=4");
    }

    [Fact]
    public void Identical_runs_differ_by_exactly_zero()
    {
        var s = new[] { ("a", true, 0.1), ("b", false, 0.9), ("c", true, 0.5), ("d", false, 0.3) };
        var cmp = RunComparison.Load([Run("x", s), Run("y", s)]);
        var p = cmp.Methods[0].Paired["auroc"][0];
        (p.Delta, p.Lower, p.Upper).Should().Be((0.0, 0.0, 0.0));
    }

    [Fact]
    public void Bad_input_gets_one_clear_message()
    {
        var ok = Run("ok", [("a", true, 0.1), ("b", false, 0.9)]);
        var act = () => RunComparison.Load([ok]);
        act.Should().Throw<ArgumentException>().WithMessage("compare needs two or more run folders (got 1)");
        act = () => RunComparison.Load([ok, ok + "/"]);
        act.Should().Throw<ArgumentException>().WithMessage("*given twice*");
        var scoring = Run("scoring", [("a", true, 0.1)], kind: "data-scoring");
        act = () => RunComparison.Load([ok, scoring]);
        act.Should().Throw<InvalidDataException>().WithMessage("*summary.json: a data-scoring run; compare reads uncertainty runs*");
        var unfinished = Path.Combine(_dir, "unfinished");
        Directory.CreateDirectory(unfinished);
        File.WriteAllText(Path.Combine(unfinished, "manifest.json"), "{}");
        act = () => RunComparison.Load([ok, unfinished]);
        act.Should().Throw<FileNotFoundException>().WithMessage("*the run has not finished*--resume*");
        act = () => RunComparison.Load([ok, Path.Combine(_dir, "missing")]);
        act.Should().Throw<DirectoryNotFoundException>().WithMessage("*missing: no such folder*");
    }
}
