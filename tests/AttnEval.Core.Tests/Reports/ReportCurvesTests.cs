using AttnEval.Core.Evaluation;
using AttnEval.Core.Reports;

namespace AttnEval.Core.Tests.Reports;

/// <summary>The figures' data agree with the evaluation numbers: checked on the tie-heavy set TV-4 of specs/uq-methods.md §7.</summary>
public sealed class ReportCurvesTests
{
    private static readonly bool[] A = [true, true, false, true, false, false, true, false];
    private static readonly double[] C = [0.95, 0.80, 0.80, 0.55, 0.40, 0.40, 0.30, 0.10];
    private static readonly double[] U = C.Select(c => -c).ToArray();

    [Fact]
    public void Roc_area_is_the_mid_rank_auroc_with_ties_as_diagonal_segments()
    {
        var roc = ReportCurves.Roc(U, A);
        ReportCurves.Area(roc).Should().BeApproximately(23.0 / 32, 1e-12);
        ReportCurves.Area(roc).Should().BeApproximately(UncertaintyMetrics.AurocError(U, A.Select(x => x ? 1.0 : 0.0).ToArray()), 1e-12);
        // Distinct scores −0.10 … −0.95 give 6 steps after (0, 0); the 0.80 and 0.40 ties are one segment each.
        roc.Should().HaveCount(7);
        roc[0].Should().Be(new CurvePoint(0, 0));
        roc[^1].Should().Be(new CurvePoint(1, 1));
        roc[1].Should().Be(new CurvePoint(0, 0.25));             // u = −0.10: one wrong answer of 4
        roc[3].Should().Be(new CurvePoint(0.25, 0.75));          // after the −0.40 tie: two more wrong answers
        ReportCurves.Roc([0.1, 0.2], [true, true]).Should().BeEmpty();
    }

    [Fact]
    public void Accuracy_rejection_area_is_lins_auarc()
    {
        var curve = ReportCurves.AccuracyRejection(U, A, TieBreaking.Stable);
        curve.Should().HaveCount(8);
        curve[0].Should().Be(new CurvePoint(0, 0.5));            // nothing rejected: accuracy 4/8
        curve[^1].Should().Be(new CurvePoint(1, 1));             // only the most confident kept (c = 0.95, correct)
        ReportCurves.Area(curve).Should().BeApproximately(0.691156, 1e-6);
        ReportCurves.Area(curve).Should().BeApproximately(UncertaintyMetrics.Auarc(U, A.Select(x => x ? 1.0 : 0.0).ToArray(), AuarcVariant.LinTrapezoid, TieBreaking.Stable), 1e-12);
        // Default (expected over tie orders): keeping 2, the 0.80 tie contributes ½ a right answer: acc(2) = 3/4.
        var expected = ReportCurves.AccuracyRejection(U, A);
        expected[^2].Y.Should().BeApproximately(0.75, 1e-12);
        ReportCurves.Area(expected).Should().BeApproximately(1927.0 / 2940, 1e-12);
        ReportCurves.Area(expected).Should().BeApproximately(UncertaintyMetrics.Auarc(U, A.Select(x => x ? 1.0 : 0.0).ToArray()), 1e-12);
        ReportCurves.AccuracyRejection([0.3], [true]).Should().BeEmpty();
    }

    [Fact]
    public void Adaptive_reliability_bins_hold_equal_counts_and_keep_tied_confidences_together()
    {
        // 45 answers, at least 20 a bin: 2 bins. Sorted, the cut falls after the 22nd (round(22.5), to even); the 22nd and 23rd
        // share confidence 0.5, so the first bin takes both.
        var conf = Enumerable.Range(0, 45).Select(i => i is 21 or 22 ? 0.5 : i < 21 ? i / 100.0 : 0.5 + i / 100.0).ToArray();
        var correct = conf.Select(c => c > 0.3).ToArray();
        var bins = ReportCurves.AdaptiveReliability(conf, correct);
        bins.Select(b => b.Count).Should().Equal(23, 22);
        bins[0].Lower.Should().Be(0);
        bins[0].Upper.Should().Be(0.5);
        bins[0].Accuracy.Should().BeApproximately(2 / 23.0, 1e-12, "only the two at 0.5 are above 0.3");
        bins[0].MeanConfidence.Should().BeApproximately(conf.Take(23).Average(), 1e-12);
        bins[1].Accuracy.Should().Be(1);
        ReportCurves.AdaptiveReliability(conf.Take(10).ToArray(), correct.Take(10).ToArray()).Should().ContainSingle("fewer than 20 answers make one bin")
            .Which.Count.Should().Be(10);
        ReportCurves.AdaptiveReliability([], []).Should().BeEmpty();
        FluentActions.Invoking(() => ReportCurves.AdaptiveReliability([1.2], [true])).Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Reliability_bins_give_the_ece()
    {
        var bins = ReportCurves.Reliability(C, A, 20);
        bins.Sum(b => (double)b.Count / C.Length * Math.Abs(b.Accuracy - b.MeanConfidence)).Should().BeApproximately(0.3375, 1e-12);
        // 0.80 twice (one right, one wrong) share bin [0.8, 0.85).
        bins.Should().ContainSingle(b => b.Lower == 0.8).Which.Should().Be(new ReliabilityBin(0.8, 0.85, 2, 0.8, 0.5));
        bins.Sum(b => b.Count).Should().Be(8);
        var bad = () => ReportCurves.Reliability([1.2], [true]);
        bad.Should().Throw<ArgumentException>().WithMessage("*outside [0, 1]*");
    }

    [Fact]
    public void Mismatched_lengths_are_rejected()
    {
        var act = () => ReportCurves.Roc([0.1, 0.2], [true]);
        act.Should().Throw<ArgumentException>().WithMessage("2 values but 1 verdicts*");
    }
}
