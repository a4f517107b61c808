using AttnEval.Core.Evaluation;

namespace AttnEval.Core.Tests.Evaluation;

/// <summary>Issue 14 item 6: PRR and AUARC are invariant to the order of tied uncertainties by default (the exact
/// expectation over tie orders); values hand-computed with exact fractions from specs/uq-methods.md §5.3/§5.6.</summary>
public sealed class TieInvarianceTests
{
    private const double Tol = 1e-12;

    // TV-4 (specs/uq-methods.md §7); the 0.80 tie holds one right and one wrong answer, the 0.40 tie two wrong ones.
    private static readonly double[] A4 = [1, 1, 0, 1, 0, 0, 1, 0];
    private static readonly double[] U4 = [-0.95, -0.80, -0.80, -0.55, -0.40, -0.40, -0.30, -0.10];

    [Fact]
    public void Tv4_default_prr_and_auarc_are_the_mean_over_both_orders_of_the_tie()
    {
        // The two orders of the 0.80 tie give areas 2347/3360 (right first) and 2137/3360 (wrong first): mean 1121/1680.
        // PRR = (1121/1680 − 1/2) / (1373/1680 − 1/2) = 281/533.
        double[] swapped = [1, 0, 1, 1, 0, 0, 1, 0];
        foreach (var a in new[] { A4, swapped })
        {
            var r = UncertaintyMetrics.Prr(U4, a);
            r.Area.Should().BeApproximately(1121.0 / 1680, Tol);
            r.OracleArea.Should().BeApproximately(1373.0 / 1680, Tol);
            r.Value.Should().BeApproximately(281.0 / 533, Tol);
            // PRR@0.5 keeps m ≥ 5 only, after the tie: unchanged 36/113.
            UncertaintyMetrics.Prr(U4, a, 0.5).Value.Should().BeApproximately(36.0 / 113, Tol);
            // Lin AUARC: acc(2) is 1 or 1/2, expectation 3/4 → 1927/2940; the step version equals the PRR area.
            UncertaintyMetrics.Auarc(U4, a).Should().BeApproximately(1927.0 / 2940, Tol);
        }
    }

    [Fact]
    public void Closed_form_equals_the_brute_force_mean_over_every_tie_order()
    {
        // Graded qualities, a block of 3 tied items, a block of 2, and singletons; every one of the 3!·2! = 12 tie orders
        // is enumerated, each evaluated with the stable convention, and the mean compared with the closed form.
        double[] u = [0.2, 0.5, 0.5, 0.9, 0.5, 0.9, 0.1];
        double[] q = [1.0, 0.0, 0.5, 0.0, 1.0, 1.0, 0.3];
        int[] blockA = [1, 2, 4], blockB = [3, 5];
        var orders = new List<double[]>();
        foreach (var pa in Permutations(blockA))
            foreach (var pb in Permutations(blockB))
            {
                var qq = (double[])q.Clone();
                for (var i = 0; i < blockA.Length; i++) qq[blockA[i]] = q[pa[i]];
                for (var i = 0; i < blockB.Length; i++) qq[blockB[i]] = q[pb[i]];
                orders.Add(qq);
            }
        orders.Should().HaveCount(12);
        orders.Select(o => UncertaintyMetrics.Prr(u, o, 1.0, TieBreaking.Stable).Value).Distinct().Count().Should().BeGreaterThan(1, "the stable PRR depends on the tie order");
        foreach (var rho in new[] { 1.0, 0.5, 0.3 })
        {
            var mean = orders.Average(o => UncertaintyMetrics.Prr(u, o, rho, TieBreaking.Stable).Value);
            foreach (var o in orders) UncertaintyMetrics.Prr(u, o, rho).Value.Should().BeApproximately(mean, Tol);
        }
        foreach (var variant in new[] { AuarcVariant.LinTrapezoid, AuarcVariant.Step })
        {
            var mean = orders.Average(o => UncertaintyMetrics.Auarc(u, o, variant, TieBreaking.Stable));
            foreach (var o in orders) UncertaintyMetrics.Auarc(u, o, variant).Should().BeApproximately(mean, Tol);
        }
    }

    [Fact]
    public void Prefix_sums_of_a_tied_block_grow_linearly_by_its_mean()
    {
        // Hand computation: order by key 0.1 (q 0.3), then the block {0.5, 0.5, 0.5} with qualities 0, 0.5, 1 (sum 1.5):
        // E[S_1] = 0.3, E[S_2] = 0.3 + 1/3·1.5 = 0.8, E[S_3] = 0.3 + 2/3·1.5 = 1.3, S_4 = 1.8.
        var s = UncertaintyMetrics.PrefixSums([0.5, 0.1, 0.5, 0.5], [0.0, 0.3, 0.5, 1.0], TieBreaking.Expected);
        s.Should().Equal([0.3, 0.8, 1.3, 1.8], (x, y) => Math.Abs(x - y) < Tol);
        UncertaintyMetrics.PrefixSums([0.5, 0.1, 0.5, 0.5], [0.0, 0.3, 0.5, 1.0], TieBreaking.Stable)
            .Should().Equal([0.3, 0.3, 0.8, 1.8], (x, y) => Math.Abs(x - y) < Tol);
    }

    [Fact]
    public void The_suite_and_the_recipe_select_the_convention()
    {
        var items = A4.Select((a, i) => new EvaluationItem(U4[i], null, a == 1)).ToArray();
        var expected = EvaluationSuite.Evaluate("m", items, ["prr", "auarc"], new EvaluationOptions { BootstrapResamples = 0 });
        expected.Metrics["prr"].Value.Should().BeApproximately(281.0 / 533, Tol);
        var stable = EvaluationSuite.Evaluate("m", items, ["prr", "auarc"], new EvaluationOptions { BootstrapResamples = 0, Ties = TieBreaking.Stable });
        stable.Metrics["prr"].Value.Should().BeApproximately(667.0 / 1066, Tol);
        stable.Metrics["auarc"].Value.Should().BeApproximately(508.0 / 735, Tol);
    }

    private static IEnumerable<int[]> Permutations(int[] items)
    {
        if (items.Length <= 1) { yield return items; yield break; }
        for (var i = 0; i < items.Length; i++)
            foreach (var rest in Permutations(items.Where((_, j) => j != i).ToArray()))
                yield return [items[i], .. rest];
    }
}
