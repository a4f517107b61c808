using AttnEval.Abstractions;
using AttnEval.TestSupport;

namespace AttnEval.Metrics.ReceiverHeads.Tests;

/// <summary>Hand-computed receiver-head numbers (specs/head-methods.md §5.2), fed through the reducer as a backend does.</summary>
public sealed class ReceiverMathTests
{
    // One layer, two heads, N = 6 tokens: token 0 is BOS (in no sentence), S0 = {1, 2}, S1 = {3}, S2 = {4, 5}.
    // Head 0, rows (each sums to 1, causal):
    //   row0 [1]
    //   row1 [.5 .5]
    //   row2 [.2 .4 .4]
    //   row3 [.1 .3 .2 .4]
    //   row4 [.1 .1 .1 .5 .2]
    //   row5 [0  .2 .2 .2 .2 .2]
    // Sentence-block sums B[i,j] over t∈S_i, u∈S_j and M = B/(|S_i||S_j|):
    //   B00 = row1(.5 + 0) + row2(.4 + .4) = 1.3   → M00 = 1.3/4 = .325
    //   B10 = row3(.3 + .2) = .5                   → M10 = .5/2  = .25
    //   B11 = row3(.4)                              → M11 = .4
    //   B20 = row4(.1 + .1) + row5(.2 + .2) = .6    → M20 = .6/4  = .15
    //   B21 = row4(.5) + row5(.2) = .7              → M21 = .7/2  = .35
    //   B22 = row4(.2 + 0) + row5(.2 + .2) = .6     → M22 = .6/4  = .15
    // With p = 1: v0 = mean(M10, M20) = .2, v1 = M21 = .35, v2 = NaN (no sentence ≥ 1 after it).
    // Head 1 is causal-uniform U[i,j] = 1/(i+1):
    //   M10 = (1/4 + 1/4)/2 = 1/4;  M20 = ((1/5 + 1/5) + (1/6 + 1/6))/4 = (2/5 + 1/3)/4 = 11/60;  M21 = (1/5 + 1/6)/2 = 11/60
    //   v0 = (15/60 + 11/60)/2 = 13/60, v1 = 11/60.
    private static readonly double[][] Head0 =
    [
        [1], [.5, .5], [.2, .4, .4], [.1, .3, .2, .4], [.1, .1, .1, .5, .2], [0, .2, .2, .2, .2, .2],
    ];
    private static readonly int[] SentenceOf = [-1, 0, 0, 1, 2, 2];

    private static double[][][][] Attention => [[Head0, AttentionFeed.Uniform(6)]];

    [Theory]
    [InlineData(6, 6)]   // one teacher-forced pass, one chunk
    [InlineData(6, 4)]   // prefill in query chunks of 4 and 2 rows
    [InlineData(3, 2)]   // generation: prefill of 3 rows in chunks of 2, then 3 decode steps of one row
    public void Reducer_gives_the_hand_computed_sentence_matrix_and_vertical_scores(int prefill, int chunk)
    {
        var r = new SentenceBlockReducer(SentenceOf, 3, layers: 1);
        AttentionFeed.Rows(r, Attention, prefill, chunk);

        var m = r.Matrix(0, 0);
        double[] expected = [.325, double.NaN, double.NaN, .25, .4, double.NaN, .15, .35, .15];
        for (int k = 0; k < 9; k++)
            if (double.IsNaN(expected[k])) m[k].Should().Be(double.NaN, "the upper triangle is masked");
            else m[k].Should().BeApproximately(expected[k], 1e-6, $"M[{k / 3},{k % 3}]");

        var v0 = ReceiverMath.VerticalScores(m, 3, proximityIgnore: 1);
        v0[0].Should().BeApproximately(.2, 1e-6);
        v0[1].Should().BeApproximately(.35, 1e-6);
        v0[2].Should().Be(double.NaN);

        var v1 = ReceiverMath.VerticalScores(r.Matrix(0, 1), 3, proximityIgnore: 1);
        v1[0].Should().BeApproximately(13.0 / 60, 1e-6);
        v1[1].Should().BeApproximately(11.0 / 60, 1e-6);
        v1[2].Should().Be(double.NaN);
        // two finite values are a two-point distribution: m4/m2² = 1, so the excess kurtosis is −2 whatever they are
        ReceiverMath.ExcessKurtosis(v0).Should().BeApproximately(-2, 1e-9);
        r.TokenCounts.Should().Equal(2, 1, 2);
    }

    [Fact]
    public void Proximity_ignore_leaves_only_sentences_far_enough_below()
    {
        // M (lower triangle, row i attends to column j):
        //   [ .9             ]
        //   [ .6  .4         ]
        //   [ .3  .5  .2     ]
        //   [ .8  .1  .0  .1 ]
        // p = 2: v0 = mean(M20, M30) = (.3 + .8)/2 = .55; v1 = M31 = .1; v2, v3 = NaN.
        // p = 0 keeps the diagonal: v3 = M33 = .1, v0 = (.9 + .6 + .3 + .8)/4 = .65.
        double n = double.NaN;
        double[] m = [.9, n, n, n, .6, .4, n, n, .3, .5, .2, n, .8, .1, 0, .1];
        var v = ReceiverMath.VerticalScores(m, 4, 2);
        v[0].Should().BeApproximately(.55, 1e-12);
        v[1].Should().BeApproximately(.1, 1e-12);
        v[2].Should().Be(double.NaN);
        v[3].Should().Be(double.NaN);
        var all = ReceiverMath.VerticalScores(m, 4, 0);
        all[0].Should().BeApproximately(.65, 1e-12);
        all[3].Should().BeApproximately(.1, 1e-12);
    }

    [Fact]
    public void Excess_kurtosis_uses_population_moments_and_ignores_NaN()
    {
        // {1, 0, 0, 0}: mean 1/4; deviations 3/4, −1/4 ×3.
        //   m2 = (9/16 + 3·1/16)/4 = 12/64 = 3/16;  m4 = (81/256 + 3·1/256)/4 = 84/1024 = 21/256
        //   m4/m2² = (21/256)/(9/256) = 7/3;  κ = 7/3 − 3 = −2/3
        ReceiverMath.ExcessKurtosis([1, 0, 0, 0]).Should().BeApproximately(-2.0 / 3, 1e-12);
        ReceiverMath.ExcessKurtosis([1, 0, double.NaN, 0, 0, double.NaN]).Should().BeApproximately(-2.0 / 3, 1e-12);
        // {1, 0 ×9}: mean .1; m2 = (.81 + 9·.01)/10 = .09; m4 = (.6561 + 9·.0001)/10 = .0657
        //   m4/m2² = .0657/.0081 = 8.1111…; κ = 5.1111… (one sentence receiving: the receiver-head signature)
        double[] spike = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        ReceiverMath.ExcessKurtosis(spike).Should().BeApproximately(.0657 / .0081 - 3, 1e-9);
        ReceiverMath.ExcessKurtosis([.3, .3, .3]).Should().Be(double.NaN, "m2 = 0");
        ReceiverMath.ExcessKurtosis([.3, double.NaN]).Should().Be(double.NaN, "one finite value");
        ReceiverMath.ExcessKurtosis([]).Should().Be(double.NaN);
    }

    [Fact]
    public void Receivers_are_the_top_k_finite_heads_without_layer_0_and_clamped()
    {
        var scores = new Dictionary<HeadId, double>
        {
            [new(0, 0)] = 9, [new(0, 1)] = double.NaN, [new(1, 0)] = 3, [new(1, 1)] = double.NaN, [new(2, 0)] = 5, [new(2, 1)] = 3,
        };
        ReceiverHeadAnalysis.Receivers(scores, 2, excludeLayer0: true).Should().Equal(new HeadId(2, 0), new HeadId(1, 0));
        ReceiverHeadAnalysis.Receivers(scores, 20, excludeLayer0: true).Should().Equal(new HeadId(2, 0), new HeadId(1, 0), new HeadId(2, 1));
        ReceiverHeadAnalysis.Receivers(scores, 1, excludeLayer0: false).Should().Equal(new HeadId(0, 0));
    }

    [Fact]
    public void Receiver_scores_average_the_receivers_vertical_scores()
    {
        // 2 layers × 2 heads, 3 sentences; receivers 1-0 and 1-1: r = [(.2 + .4)/2, (.6 + NaN → .6), NaN]
        float n = float.NaN;
        float[][] v = [[9, 9, 9], [9, 9, 9], [.2f, .6f, n], [.4f, n, n]];
        var r = ReceiverHeadAnalysis.ReceiverScores(v, [new HeadId(1, 0), new HeadId(1, 1)], 2);
        r[0].Should().BeApproximately(.3, 1e-6);
        r[1].Should().BeApproximately(.6, 1e-6);
        r[2].Should().Be(double.NaN);
    }
}
