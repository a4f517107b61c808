using AttnEval.TestSupport;

namespace AttnEval.Metrics.AttentionSinks.Tests;

/// <summary>Hand-computed hidden sinks (specs/head-methods.md §5.3), fed through the reducer as a backend does.</summary>
public sealed class SinkMathTests
{
    // Head 0, N = 4:
    //   row0 [1]
    //   row1 [.9  .1]
    //   row2 [.5  .05 .45]
    //   row3 [.6  .02 .3  .08]
    // Column sums C = [3.0, .17, .75, .08]; c_j = C_j/(N − j) = [3/4, .17/3, .75/2, .08/1] = [.75, .0567, .375, .08].
    // τ = .1: detected {0, 2}; S = {2} (0, the first, removed); mass = C_2/N = .75/4 = .1875
    //   (row by row: rows 0,1 see no column of S, row2 gives .45, row3 .3 → (.45 + .3)/4 = .1875); 1 hidden sink.
    // Head 1, N = 4: the first sink is not position 0:
    //   row0 [1]
    //   row1 [.05 .95]
    //   row2 [0   .92 .08]
    //   row3 [0   .82 .09 .09]
    // C = [1.05, 2.69, .17, .09]; c = [1.05/4, 2.69/3, .17/2, .09/1] = [.2625, .8967, .085, .09].
    // τ = .3: detected {1} (position 0 fails τ); S = {} after removing the first; mass 0.
    // τ = .1: detected {0, 1}; S = {1}; mass = 2.69/4 = .6725.
    private static readonly double[][] Head0 = [[1], [.9, .1], [.5, .05, .45], [.6, .02, .3, .08]];
    private static readonly double[][] Head1 = [[1], [.05, .95], [0, .92, .08], [0, .82, .09, .09]];

    private static ColumnSumReducer Fed(int prefill, int chunk)
    {
        var r = new ColumnSumReducer(layers: 2);
        // layer 1 is causal-uniform: c_j = (Σ_{i≥j} 1/(i+1))/(4 − j) = [1, .3611, .2917, .25] for j = 0..3
        AttentionFeed.Rows(r, [[Head0, Head1], [AttentionFeed.Uniform(4), AttentionFeed.Uniform(4)]], prefill, chunk);
        return r;
    }

    [Theory]
    [InlineData(4, 4)]   // teacher-forced, one block
    [InlineData(4, 3)]   // prefill in query chunks of 3 and 1
    [InlineData(2, 1)]   // generation: 2 prefill rows one chunk each, then 2 decode steps
    public void Reducer_and_detection_give_the_hand_computed_sinks(int prefill, int chunk)
    {
        var r = Fed(prefill, chunk);
        r.Rows(0).Should().Be(4);
        r.ColumnSums(0, 0).ToArray().Should().Equal([3.0, .17, .75, .08], (a, b) => Math.Abs(a - b) < 1e-6);

        var h0 = SinkMath.Detect(r.ColumnSums(0, 0), .1);
        h0.Detected.Should().Equal(0, 2);
        h0.First.Should().Be(0);
        h0.Hidden.Should().Equal(2);
        h0.HiddenMass.Should().BeApproximately(.1875, 1e-6);
        h0.InitialScore.Should().BeApproximately(.75, 1e-6);

        var h1 = SinkMath.Detect(r.ColumnSums(0, 1), .3);
        h1.Detected.Should().Equal(1);
        h1.First.Should().Be(1, "position 0 receives .2625 < τ, so the first detected sink is position 1 and is the one removed");
        h1.Hidden.Should().BeEmpty();
        h1.HiddenMass.Should().Be(0);
        var h1Low = SinkMath.Detect(r.ColumnSums(0, 1), .1);
        h1Low.Detected.Should().Equal(0, 1);
        h1Low.Hidden.Should().Equal(1);
        h1Low.HiddenMass.Should().BeApproximately(.6725, 1e-6);

        // uniform: c = [1, (1/2+1/3+1/4)/3, (1/3+1/4)/2, 1/4] = [1, .3611, .2917, .25]: all > .1, S = {1, 2, 3},
        // mass = (C1 + C2 + C3)/4 = ((1/2+1/3+1/4) + (1/3+1/4) + 1/4)/4 = (13/12 + 7/12 + 3/12)/4 = 23/48
        var u = SinkMath.Detect(r.ColumnSums(1, 0), .1);
        u.Hidden.Should().Equal(1, 2, 3);
        u.HiddenMass.Should().BeApproximately(23.0 / 48, 1e-6);
    }

    [Fact]
    public void Min_rows_keeps_the_last_positions_out()
    {
        var r = Fed(4, 4);
        // min_rows 2: column 3 (seen by 1 row) is never a sink: uniform S = {1, 2}, mass = (13/12 + 7/12)/4 = 20/48
        var u = SinkMath.Detect(r.ColumnSums(1, 0), .1, minRows: 2);
        u.Hidden.Should().Equal(1, 2);
        u.HiddenMass.Should().BeApproximately(20.0 / 48, 1e-6);
        // min_rows 3: head 0 keeps only columns 0, 1: detected {0}, no hidden sink
        var h0 = SinkMath.Detect(r.ColumnSums(0, 0), .1, minRows: 3);
        h0.Detected.Should().Equal(0);
        h0.Hidden.Should().BeEmpty();
        h0.HiddenMass.Should().Be(0);
    }

    [Fact]
    public void A_tau_of_one_finds_no_sink()
    {
        var h = SinkMath.Detect(Fed(4, 4).ColumnSums(1, 0), 1.0);
        h.Detected.Should().BeEmpty();
        h.First.Should().BeNull();
        h.HiddenMass.Should().Be(0);
    }

    [Theory]
    [InlineData(" 8+7=15\n#### 15", "8+7=15\n#### 15", true)]
    [InlineData(" 8+7=14\n#### 14", "8+7=15\n#### 15", false)]
    [InlineData(" I cannot help", "cold", false)]
    [InlineData("  Cold ", "cold", true)]
    [InlineData("no number", "#### 3", false)]
    public void Answer_match_compares_final_numbers_or_normalised_text(string response, string target, bool expected) =>
        AnswerMatch.Correct(response, target).Should().Be(expected);
}
