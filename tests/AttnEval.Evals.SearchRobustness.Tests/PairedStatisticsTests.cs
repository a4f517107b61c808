using System.Text.Json.Nodes;
using AttnEval.Core.Evaluation;

namespace AttnEval.Evals.SearchRobustness.Tests;

public class PairedStatisticsTests
{
    private static PairedEpisode E(string cond, int i, bool correct, string pred, double? conf = null, bool? misled = null) =>
        new(cond, $"q{i}#r0", $"q{i}", correct, pred, conf, misled, pred.Length == 0, new Dictionary<string, double?> { ["searches"] = 1 + i % 2 });

    [Theory]
    [InlineData(0, 0, 1.0)]
    [InlineData(4, 1, 0.375)]              // 2·(C(5,0)+C(5,1))/2^5 = 2·6/32
    [InlineData(10, 0, 0.001953125)]       // 2/2^10
    [InlineData(3, 3, 1.0)]                // 2·P[X≤3; 6] = 2·42/64 > 1 → 1
    public void Exact_mcnemar_matches_the_binomial_tail(int b, int c, double p) =>
        PairedConditions.McNemarExact(b, c).Should().BeApproximately(p, 1e-12);

    [Fact]
    public void Hand_computed_drop_flips_adoption_and_test()
    {
        // Ten items. Reference: 8 correct (items 0–7). Condition: items 0–3 correct, item 8 newly correct; 4 harmful flips
        // (4–7), 1 benign (8). Predictions change on items 4–8 and on item 9 (wrong both times): flip rate 6/10.
        var eps = new List<PairedEpisode>();
        for (int i = 0; i < 10; i++)
        {
            eps.Add(E("clean", i, i < 8, i == 9 ? "x" : "a" + i));
            bool cur = i < 4 || i == 8;
            string pred = i < 4 ? "a" + i : i == 8 ? "a8" + "!" : i == 9 ? "y" : "m" + i;
            eps.Add(E("R-MISLEAD", i, cur, pred, misled: i is >= 4 and <= 6));
        }
        var o = new EvaluationOptions { BootstrapResamples = 2000, Seed = 3, EceBins = 10 };
        var table = PairedConditions.Analyze(eps, "clean", ["clean", "R-MISLEAD"], o)["conditions"]!;
        var c = table["R-MISLEAD"]!;
        ((double)c["accuracy"]!).Should().BeApproximately(0.5, 1e-12);
        ((double)c["delta_acc"]!["value"]!).Should().BeApproximately(0.3, 1e-12);
        ((double)c["rel_drop"]!).Should().BeApproximately(0.3 / 0.8, 1e-12);
        ((double)c["rr"]!).Should().BeApproximately(0.5 / 0.8, 1e-12);
        ((double)c["harm_flip"]!).Should().BeApproximately(0.4, 1e-12);
        ((double)c["ben_flip"]!).Should().BeApproximately(0.1, 1e-12);
        ((double)c["flip_rate"]!["value"]!).Should().BeApproximately(0.6, 1e-12);
        ((double)c["mislead_rate"]!).Should().BeApproximately(0.3, 1e-12);
        ((int)c["mcnemar"]!["b"]!).Should().Be(4);
        ((int)c["mcnemar"]!["c"]!).Should().Be(1);
        ((double)c["mcnemar"]!["p_value"]!).Should().BeApproximately(0.375, 1e-12);
        // Per-pair differences: four 1s, one −1, five 0s; a resample mean lies in [−1, 1] and the 95% interval brackets 0.3.
        ((double)c["delta_acc"]!["ci_low"]!).Should().BeLessThan(0.3).And.BeGreaterThanOrEqualTo(-0.2);
        ((double)c["delta_acc"]!["ci_high"]!).Should().BeGreaterThan(0.3).And.BeLessThanOrEqualTo(0.8);
        ((double)table["clean"]!["stats"]!["searches"]!).Should().BeApproximately(1.5, 1e-12);
        table["clean"]!["delta_acc"].Should().BeNull("the reference is not compared with itself");
    }

    [Fact]
    public void A_drop_on_every_pair_has_a_degenerate_interval_at_one_and_no_drop_an_interval_at_zero()
    {
        var eps = Enumerable.Range(0, 8).SelectMany(i => new[] { E("clean", i, true, "a"), E("R-DROPGOLD", i, false, ""), E("R-SHUF", i, true, "a") }).ToList();
        var t = PairedConditions.Analyze(eps, "clean", ["clean", "R-DROPGOLD", "R-SHUF"], new EvaluationOptions { BootstrapResamples = 200 })["conditions"]!;
        ((double)t["R-DROPGOLD"]!["delta_acc"]!["ci_low"]!).Should().Be(1);
        ((double)t["R-DROPGOLD"]!["abstain"]!).Should().Be(1);
        ((double)t["R-SHUF"]!["delta_acc"]!["ci_high"]!).Should().Be(0);
        ((double)t["R-SHUF"]!["mcnemar"]!["p_value"]!).Should().Be(1);
    }

    [Fact]
    public void Confidence_metrics_per_condition_and_their_paired_change()
    {
        // Reference: confidence separates right from wrong perfectly (AUROC 1). Condition: reversed (AUROC 0).
        double[] conf = [0.9, 0.8, 0.3, 0.2];
        bool[] ok = [true, true, false, false];
        var eps = new List<PairedEpisode>();
        for (int i = 0; i < 4; i++)
        {
            eps.Add(E("clean", i, ok[i], "a", conf[i]));
            eps.Add(E("Q-TYPO(rate=0.1)", i, ok[i], "a", conf[3 - i]));
        }
        var t = PairedConditions.Analyze(eps, "clean", ["clean", "Q-TYPO(rate=0.1)"], new EvaluationOptions { BootstrapResamples = 0, EceBins = 10 })["conditions"]!;
        ((double)t["clean"]!["auroc"]!).Should().Be(1);
        ((double)t["Q-TYPO(rate=0.1)"]!["auroc"]!).Should().Be(0);
        ((double)t["Q-TYPO(rate=0.1)"]!["delta_auroc"]!["value"]!).Should().Be(1);
        // ECE, 10 bins, one item per bin: clean gaps 0.1, 0.2, 0.3, 0.2 → 0.8/4 = 0.2;
        // reversed: right answers get 0.2 and 0.3 (gaps 0.8, 0.7), wrong ones 0.8 and 0.9 (gaps 0.8, 0.9) → 3.2/4 = 0.8.
        ((double)t["clean"]!["ece"]!).Should().BeApproximately(0.2, 1e-12);
        ((double)t["Q-TYPO(rate=0.1)"]!["ece"]!).Should().BeApproximately(0.8, 1e-12);
        ((double)t["Q-TYPO(rate=0.1)"]!["delta_ece"]!).Should().BeApproximately(-0.6, 1e-12);
        ((double)t["clean"]!["brier"]!).Should().BeApproximately((0.01 + 0.04 + 0.09 + 0.04) / 4, 1e-12);
        ((double)t["clean"]!["spearman"]!).Should().BeApproximately(Math.Sqrt(0.8), 1e-12); // ranks 4,3,2,1 vs 3.5,3.5,1.5,1.5
        ((double)t["Q-TYPO(rate=0.1)"]!["confidence_shift"]!["stable"]!["mean"]!).Should().BeApproximately(0, 1e-12);
    }

    [Fact]
    public void Two_runs_give_random_right_and_pass_at_2()
    {
        var eps = new List<PairedEpisode>
        {
            new("clean", "q1#r0", "q1", true, "a", null, null, false, new Dictionary<string, double?>()),
            new("clean", "q1#r1", "q1", false, "b", null, null, false, new Dictionary<string, double?>()),
            new("clean", "q2#r0", "q2", true, "a", null, null, false, new Dictionary<string, double?>()),
            new("clean", "q2#r1", "q2", true, "a", null, null, false, new Dictionary<string, double?>()),
            new("clean", "q3#r0", "q3", false, "c", null, null, false, new Dictionary<string, double?>()),
            new("clean", "q3#r1", "q3", false, "c", null, null, false, new Dictionary<string, double?>()),
        };
        var r = PairedConditions.Analyze(eps, "clean", ["clean"], new EvaluationOptions { BootstrapResamples = 0 });
        ((int)r["n_runs"]!).Should().Be(2);
        ((double)r["random_right"]!).Should().BeApproximately(0.5, 1e-12);
        ((double)r["pass_at_2"]!).Should().BeApproximately(2 / 3.0, 1e-12);
    }

    [Fact]
    public void Episode_records_with_errors_are_left_out()
    {
        PairedEpisode.FromRecord(new JsonObject { ["condition"] = "clean", ["pair"] = "q#r0", ["correct"] = true, ["error"] = "boom" }).Should().BeNull();
        var e = PairedEpisode.FromRecord(new JsonObject { ["condition"] = "clean", ["pair"] = "q#r0", ["item"] = "q", ["correct"] = false, ["pred"] = "v11", ["confidence"] = 0.25, ["stats"] = new JsonObject { ["searches"] = 2, ["query_drift"] = null } })!;
        e.Confidence.Should().Be(0.25);
        e.Stats["searches"].Should().Be(2);
        e.Stats["query_drift"].Should().BeNull();
    }
}
