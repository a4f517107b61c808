using AttnEval.Core.Evaluation;

namespace AttnEval.Core.Tests.Evaluation;

/// <summary>Test vectors of specs/uq-methods.md §7 (TV-1…TV-5) and hand-computed small cases.</summary>
public class UncertaintyMetricsTests
{
    private const double Tol = 1e-9;

    // TV-4 tie-heavy set: a = correctness, c = confidence, u = −c.
    private static readonly double[] A4 = [1, 1, 0, 1, 0, 0, 1, 0];
    private static readonly double[] C4 = [0.95, 0.80, 0.80, 0.55, 0.40, 0.40, 0.30, 0.10];
    private static readonly double[] U4 = C4.Select(c => -c).ToArray();

    [Fact]
    public void TV1_auroc_of_the_sklearn_doc_example()
    {
        double[] s = [0.1, 0.4, 0.35, 0.8];
        bool[] y = [false, false, true, true];
        UncertaintyMetrics.Auroc(s, y).Should().BeApproximately(0.75, Tol);
        // same vector read as "uncertainty predicts errors": positive (y=1) = wrong, so correct = 1 − y
        UncertaintyMetrics.AurocError(s, [1, 1, 0, 0]).Should().BeApproximately(0.75, Tol);
    }

    [Fact]
    public void TV2_average_precision_of_the_sklearn_doc_example()
    {
        double[] s = [0.1, 0.4, 0.35, 0.8];
        UncertaintyMetrics.AveragePrecision(s, [false, false, true, true]).Should().BeApproximately(5.0 / 6, Tol);
        UncertaintyMetrics.AuprcError(s, [1, 1, 0, 0]).Should().BeApproximately(5.0 / 6, Tol);
    }

    [Fact]
    public void TV3_brier_of_the_sklearn_doc_examples()
    {
        UncertaintyMetrics.Brier([0.1, 0.9, 0.8, 0.3], [0, 1, 1, 0]).Should().BeApproximately(0.0375, Tol);
        UncertaintyMetrics.Brier([0.1, 0.9, 0.8, 0.4], [0, 1, 1, 0]).Should().BeApproximately(0.055, Tol);
    }

    [Fact]
    public void TV4_auroc_is_the_same_in_both_orientations()
    {
        UncertaintyMetrics.AurocError(U4, A4).Should().BeApproximately(23.0 / 32, Tol);
        UncertaintyMetrics.Auroc(C4, A4.Select(a => a == 1).ToArray()).Should().BeApproximately(23.0 / 32, Tol);
    }

    [Fact]
    public void TV4_average_precision_for_both_positive_classes()
    {
        UncertaintyMetrics.AuprcCorrect(U4, A4).Should().BeApproximately(251.0 / 336, Tol);
        UncertaintyMetrics.AuprcError(U4, A4).Should().BeApproximately(43.0 / 56, Tol);
    }

    [Fact]
    public void TV4_brier_and_ece()
    {
        UncertaintyMetrics.Brier(C4, A4).Should().BeApproximately(341.0 / 1600, Tol);
        foreach (var binning in new[] { EceBinning.LeftClosed, EceBinning.RightClosed })
        {
            UncertaintyMetrics.Ece(C4, A4, 20, binning).Should().BeApproximately(0.3375, Tol);
            UncertaintyMetrics.Ece(C4, A4, 10, binning).Should().BeApproximately(0.3375, Tol);
        }
    }

    [Fact]
    public void TV4_prr_full_rejection()
    {
        var r = UncertaintyMetrics.Prr(U4, A4, 1.0, TieBreaking.Stable);
        r.Area.Should().BeApproximately(2347.0 / 3360, Tol);
        r.OracleArea.Should().BeApproximately(1373.0 / 1680, Tol);
        r.RandomArea.Should().BeApproximately(0.5, Tol);
        r.Value.Should().BeApproximately(667.0 / 1066, Tol);
        r.Normalized.Should().BeTrue();
    }

    [Fact]
    public void TV4_prr_at_half_rejection()
    {
        var r = UncertaintyMetrics.Prr(U4, A4, 0.5, TieBreaking.Stable);
        r.Area.Should().BeApproximately(19.0 / 35, Tol);
        r.OracleArea.Should().BeApproximately(533.0 / 840, Tol);
        r.Value.Should().BeApproximately(36.0 / 113, Tol);
    }

    [Fact]
    public void TV4_prr_stable_ties_follow_input_order()
    {
        // swapping the two 0.80 items (correct first vs wrong first) changes the area, as the spec warns
        double[] a = [1, 0, 1, 1, 0, 0, 1, 0];
        UncertaintyMetrics.Prr(U4, a, 1.0, TieBreaking.Stable).Area.Should().BeApproximately(2137.0 / 3360, Tol);
    }

    [Fact]
    public void TV4_auarc_lin_and_step()
    {
        UncertaintyMetrics.Auarc(U4, A4, AuarcVariant.LinTrapezoid, TieBreaking.Stable).Should().BeApproximately(508.0 / 735, Tol); // 0.691156…
        UncertaintyMetrics.Auarc(U4, A4, AuarcVariant.LinTrapezoid, TieBreaking.Stable).Should().BeApproximately(0.691156, 1e-6);
        UncertaintyMetrics.Auarc(U4, A4, AuarcVariant.Step, TieBreaking.Stable).Should().BeApproximately(2347.0 / 3360, Tol);
    }

    [Fact]
    public void TV5_ece_edge_conventions_differ_on_an_edge()
    {
        UncertaintyMetrics.Ece([0.50, 0.52], [1, 0], 20, EceBinning.LeftClosed).Should().BeApproximately(0.01, Tol);
        UncertaintyMetrics.Ece([0.50, 0.52], [1, 0], 20, EceBinning.RightClosed).Should().BeApproximately(0.51, Tol);
        UncertaintyMetrics.Ece([0.50, 0.52], [1, 0]).Should().BeApproximately(0.01, Tol, "left-closed is the default");
    }

    [Fact]
    public void TV5_ece_second_vector_is_the_same_in_both_conventions()
    {
        double[] c = [0.25, 0.30, 0.5, 0.9, 0.0];
        double[] a = [1, 0, 1, 1, 0];
        UncertaintyMetrics.Ece(c, a, 20, EceBinning.LeftClosed).Should().BeApproximately(0.33, Tol);
        UncertaintyMetrics.Ece(c, a, 20, EceBinning.RightClosed).Should().BeApproximately(0.33, Tol);
    }

    [Theory]
    [InlineData(0.0, EceBinning.LeftClosed, 0)]
    [InlineData(0.0, EceBinning.RightClosed, 0)]
    [InlineData(1.0, EceBinning.LeftClosed, 19)]
    [InlineData(1.0, EceBinning.RightClosed, 19)]
    [InlineData(0.5, EceBinning.LeftClosed, 10)]
    [InlineData(0.5, EceBinning.RightClosed, 9)]
    [InlineData(0.15, EceBinning.LeftClosed, 3)]   // on edge 3 (numpy's edge is 0.15000000000000002; we use the ideal 3/20)
    [InlineData(0.15, EceBinning.RightClosed, 2)]
    [InlineData(0.30, EceBinning.LeftClosed, 6)]
    [InlineData(0.30, EceBinning.RightClosed, 5)]
    [InlineData(0.1 + 0.2, EceBinning.LeftClosed, 6)] // 0.30000000000000004 is on edge 6 within tolerance
    [InlineData(0.55, EceBinning.RightClosed, 10)]
    [InlineData(0.999, EceBinning.RightClosed, 19)]
    [InlineData(0.151, EceBinning.LeftClosed, 3)]
    [InlineData(0.049, EceBinning.RightClosed, 0)]
    [InlineData(0.05, EceBinning.RightClosed, 0)]
    [InlineData(0.05, EceBinning.LeftClosed, 1)]
    public void Edge_values_follow_the_convention_and_others_bin_by_floor(double c, EceBinning binning, int expected) =>
        UncertaintyMetrics.BinOf(c, 20, binning).Should().Be(expected);

    [Fact]
    public void Ece_by_hand_with_ten_bins()
    {
        // bin 8: two items, accuracy 0.5, mean confidence 0.85 → 2/3 · 0.35; bin 2: one wrong item at 0.25 → 1/3 · 0.25
        UncertaintyMetrics.Ece([0.85, 0.85, 0.25], [1, 0, 0], 10).Should().BeApproximately(19.0 / 60, Tol);
    }

    [Fact]
    public void Auroc_by_hand_perfect_reversed_and_all_tied()
    {
        double[] correct = [1, 1, 0, 0];
        UncertaintyMetrics.AurocError([0.1, 0.2, 0.8, 0.9], correct).Should().Be(1.0);
        UncertaintyMetrics.AurocError([0.9, 0.8, 0.2, 0.1], correct).Should().Be(0.0);
        UncertaintyMetrics.AurocError([0.5, 0.5, 0.5, 0.5], correct).Should().Be(0.5);
        // one tied error/correct pair among four pairs: (3 + ½)/4
        UncertaintyMetrics.AurocError([0.1, 0.5, 0.5, 0.9], correct).Should().BeApproximately(0.875, Tol);
    }

    [Fact]
    public void Prr_by_hand_oracle_and_reversed()
    {
        UncertaintyMetrics.Prr([0.0, 1.0], [1, 0]).Value.Should().BeApproximately(1.0, Tol);
        var rev = UncertaintyMetrics.Prr([1.0, 0.0], [1, 0]);
        rev.Area.Should().BeApproximately(0.25, Tol);
        rev.Value.Should().BeApproximately(-1.0, Tol);
    }

    [Fact]
    public void Prr_normalises_continuous_quality_by_min_max()
    {
        // q = [0.2, 0.6] → q̃ = [0, 1]; u puts the better one first → oracle → 1
        UncertaintyMetrics.Prr([0.3, 0.1], [0.2, 0.6]).Value.Should().BeApproximately(1.0, Tol);
    }

    [Fact]
    public void Auarc_by_hand()
    {
        // order by u: correct, wrong, correct → acc = 1, 1/2, 2/3
        UncertaintyMetrics.Auarc([0.1, 0.2, 0.3], [1, 0, 1]).Should().BeApproximately(2.0 / 3, Tol);
        UncertaintyMetrics.Auarc([0.1, 0.2, 0.3], [1, 0, 1], AuarcVariant.Step).Should().BeApproximately(13.0 / 18, Tol);
        UncertaintyMetrics.Auarc([0.1, 0.2], [1, 1]).Should().Be(1.0);
        UncertaintyMetrics.Auarc([0.1, 0.2], [0, 0]).Should().Be(0.0);
    }

    [Fact]
    public void Brier_by_hand() =>
        UncertaintyMetrics.Brier([1.0, 0.0, 0.5], [1, 1, 0]).Should().BeApproximately((0 + 1 + 0.25) / 3, Tol);

    [Fact]
    public void Single_class_gives_nan_for_ranking_metrics()
    {
        UncertaintyMetrics.AurocError([0.1, 0.2], [1, 1]).Should().Be(double.NaN);
        UncertaintyMetrics.AurocError([0.1, 0.2], [0, 0]).Should().Be(double.NaN);
        UncertaintyMetrics.AuprcError([0.1, 0.2], [1, 1]).Should().Be(double.NaN);
        UncertaintyMetrics.AuprcError([0.1, 0.2], [0, 0]).Should().Be(double.NaN);
    }

    [Fact]
    public void Empty_input_gives_nan_everywhere()
    {
        double[] none = [];
        UncertaintyMetrics.AurocError(none, none).Should().Be(double.NaN);
        UncertaintyMetrics.AuprcError(none, none).Should().Be(double.NaN);
        UncertaintyMetrics.Prr(none, none).Value.Should().Be(double.NaN);
        UncertaintyMetrics.Auarc(none, none).Should().Be(double.NaN);
        UncertaintyMetrics.Ece(none, none).Should().Be(double.NaN);
        UncertaintyMetrics.Brier(none, none).Should().Be(double.NaN);
    }

    [Fact]
    public void Prr_with_all_labels_equal_reports_the_raw_area_flagged()
    {
        var r = UncertaintyMetrics.Prr([0.1, 0.5, 0.9], [1, 1, 1]);
        r.Normalized.Should().BeFalse();
        r.Value.Should().BeApproximately(0.5, Tol); // every q̃ = 0.5
        r.Value.Should().Be(r.Area);
    }

    [Fact]
    public void Prr_at_half_rejection_of_one_item_is_nan() =>
        UncertaintyMetrics.Prr([0.1], [1], 0.5).Value.Should().Be(double.NaN);

    [Fact]
    public void Nan_labels_drop_the_item()
    {
        double[] s = [0.1, 0.4, 0.35, 0.8, 0.0];
        UncertaintyMetrics.AurocError(s, [1, 1, 0, 0, double.NaN]).Should().BeApproximately(0.75, Tol);
        UncertaintyMetrics.Brier([0.1, 0.9, 0.8, 0.3, 0.5], [0, 1, 1, 0, double.NaN]).Should().BeApproximately(0.0375, Tol);
    }

    [Fact]
    public void Non_finite_scores_are_mapped_as_lm_polygraph_does()
    {
        UncertaintyMetrics.SanitizeScore(double.PositiveInfinity).Should().Be(1e7);
        UncertaintyMetrics.SanitizeScore(double.NegativeInfinity).Should().Be(-1e7);
        UncertaintyMetrics.SanitizeScore(double.NaN).Should().Be(-1e7);
        // a NaN uncertainty on the wrong answer becomes the most confident → the error ranks last → AUROC 0
        UncertaintyMetrics.AurocError([double.NaN, 0.5], [0, 1]).Should().Be(0.0);
        // +∞ on the wrong answer ranks it first → AUROC 1
        UncertaintyMetrics.AurocError([double.PositiveInfinity, 1e6], [0, 1]).Should().Be(1.0);
    }

    [Fact]
    public void Malformed_inputs_throw_argument_exceptions()
    {
        FluentActions.Invoking(() => UncertaintyMetrics.AurocError([0.1, 0.2], [1])).Should().Throw<ArgumentException>().WithMessage("*same length*");
        FluentActions.Invoking(() => UncertaintyMetrics.AurocError([0.1, 0.2], [1, 0.5])).Should().Throw<ArgumentException>().WithMessage("*0 (wrong) or 1 (correct)*");
        FluentActions.Invoking(() => UncertaintyMetrics.Prr([0.1, 0.2], [1, 1.5])).Should().Throw<ArgumentException>().WithMessage("*[0, 1]*");
        FluentActions.Invoking(() => UncertaintyMetrics.Prr([0.1], [1], 0)).Should().Throw<ArgumentException>().WithMessage("*(0, 1]*");
        FluentActions.Invoking(() => UncertaintyMetrics.Ece([1.2], [1])).Should().Throw<ArgumentException>().WithMessage("*confidence 0 is 1.2*");
        FluentActions.Invoking(() => UncertaintyMetrics.Brier([double.NaN], [1])).Should().Throw<ArgumentException>().WithMessage("*[0, 1]*");
        FluentActions.Invoking(() => UncertaintyMetrics.Ece([0.5], [1], 0)).Should().Throw<ArgumentException>().WithMessage("*at least 1 bin*");
    }
}
