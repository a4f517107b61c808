using AttnEval.Abstractions;
using AttnEval.Metrics.Uqac;

namespace AttnEval.Metrics.Uqac.Tests;

/// <summary>Backtracking (TV-10), the marginal (TV-9) and the pieces between them, on hand-built values.</summary>
public sealed class ChainTests
{
    // TV-10 (specs/uq-methods.md §7): n_instr = 2, response "Add 3 and 4: 7 is 7", reduced rows for response positions 0-7
    // over absolute columns 0-9 (diagonal and column 0 already zero).
    internal static readonly float[][] Tv10Rows =
    [
        [0, .6f, 0, 0, 0, 0, 0, 0, 0, 0],
        [0, .3f, .5f, 0, 0, 0, 0, 0, 0, 0],
        [0, .1f, .2f, .6f, 0, 0, 0, 0, 0, 0],
        [0, .1f, .1f, .3f, .2f, 0, 0, 0, 0, 0],
        [0, .05f, .1f, .35f, .05f, .4f, 0, 0, 0, 0],
        [0, .05f, .05f, .3f, .02f, .45f, .03f, 0, 0, 0],
        [0, .02f, .03f, .15f, .05f, .2f, .05f, .45f, 0, 0],
        [0, .01f, .02f, .1f, .02f, .1f, .05f, .5f, .1f, 0],
    ];
    internal static readonly string[] Tv10Tokens = ["Add", " 3", " and", " 4", ":", " 7", " is", " 7"];

    private static IReadOnlyList<ChainEntry> Tv10(int minLength, bool parity = false)
    {
        var blocked = new[] { true, true }.Concat(Tv10Tokens.Select(StopWords.IsBlocked)).ToArray();
        return Backtracking.Build(p => p >= 2 ? Tv10Rows[p - 2] : null, 2, blocked, [6], new BacktrackOptions(MinLength: minLength, ParityQuirks: parity));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TV10_with_min_length_5(bool parity)
    {
        var chain = Tv10(5, parity);
        chain.Select(e => e.SourceId).Should().Equal(-1, 0, 2, 4, 6);
        chain.Select(e => e.Score).Should().Equal([0.30, 0.15, 0.20, 0.45, 0.0], (a, b) => Math.Abs(a - b) < 1e-6);
    }

    [Fact]
    public void TV10_with_min_length_1()
    {
        var chain = Tv10(1);
        chain.Select(e => e.SourceId).Should().Equal(4, 6);
        chain.Select(e => e.Score).Should().Equal([0.45, 0.0], (a, b) => Math.Abs(a - b) < 1e-6);
    }

    [Fact]
    public void Parity_quirk_double_counts_the_picked_tokens()
    {
        // Only a source at row 6 (absolute 8): candidates 7 (.3), 5 (.25), 3 (.2); L_min = 2 → L_need = 3.
        // Fixed: after picking 7 the chain has 2 < 3 entries, so 5 joins, then 3 entries = L_need stops 3 (.2 < τ).
        // Parity: after picking 7 the test counts 2 + 1 = 3 ≥ 3 and stops at 5.
        float[]? Row(int p) => p == 8 ? [0, 0, 0, .2f, 0, .25f, 0, .3f, 0] : null;
        var blocked = new bool[10]; blocked[0] = blocked[1] = true;
        var fixedChain = Backtracking.Build(Row, 2, blocked, [6], new BacktrackOptions(MinLength: 2, MaxSteps: 1));
        var parity = Backtracking.Build(Row, 2, blocked, [6], new BacktrackOptions(MinLength: 2, MaxSteps: 1, ParityQuirks: true));
        fixedChain.Select(e => e.SourceId).Should().Equal(2, 4, 6);
        parity.Select(e => e.SourceId).Should().Equal(4, 6);
    }

    [Fact]
    public void Stop_words_block_function_words_punctuation_and_whitespace_only()
    {
        StopWords.IsBlocked(" and").Should().BeTrue();
        StopWords.IsBlocked(" The").Should().BeTrue();
        StopWords.IsBlocked(":").Should().BeTrue();
        StopWords.IsBlocked("\n").Should().BeTrue();
        StopWords.IsBlocked(" don’t").Should().BeTrue();
        StopWords.IsBlocked(" don't").Should().BeTrue();
        StopWords.IsBlocked(" 7").Should().BeFalse();
        StopWords.IsBlocked("####").Should().BeFalse();
        StopWords.IsBlocked(" apples").Should().BeFalse();
        StopWords.All.Count(w => w.Any(char.IsLetter) && !w.Contains('’')).Should().Be(174);   // UQAC's 174 words
        StopWords.All.Should().Contain("");
    }

    [Fact]
    public void TV9_marginal()
    {
        ChainMath.Marginal([(Math.Log(0.5), Math.Log(0.9)), (Math.Log(0.2), Math.Log(0.6)), (Math.Log(0.05), Math.Log(0.1))])
            .Should().BeApproximately(0.575, 1e-12);
        ChainMath.ClampedLog(double.NegativeInfinity).Should().Be(Math.Log(1e-12));
    }

    [Fact]
    public void Alternatives_keep_probable_non_original_candidates_across_positions()
    {
        static TokenLogProb T(int id, double p) => new(id, (float)Math.Log(p));
        var alts = ChainMath.Alternatives(
        [
            (0, 10, [T(10, .5), T(11, .3), T(12, .005)]),
            (3, 20, [T(21, .6), T(20, .35), T(22, .04)]),   // the generated token is not the top-1 here
        ], probabilityThreshold: 0.01, ensK: 1);
        // > 0.01: .6(21) .5(10) .35(20) .3(11) .04(22); top ensK + |S| = 3: 21, 10, 20; minus originals → 21
        alts.Should().ContainSingle().Which.Should().Be(new Alternative(3, 21, (double)(float)Math.Log(.6) is var l ? Math.Exp(l) : 0));
        ChainMath.Alternatives([(0, 10, [T(10, .5), T(11, .3), T(12, .005)])], 0.01, 10)
            .Select(a => a.Token).Should().Equal(11);
    }

    [Fact]
    public void Similarity_filter_keeps_the_top_k_by_mean_cosine_above_the_threshold_in_position_order()
    {
        var answer = new[] { new float[] { 1, 0 }, new float[] { 0, 1 } };
        var emb = new Dictionary<int, float[]> { [0] = [1, 1], [2] = [1, 0], [4] = [-1, 0], [5] = [3, 3] };
        // mean cosine: (1,1) → (√½ + √½)/2 = 0.7071; (1,0) → 0.5; (−1,0) → −0.5; (3,3) → 0.7071
        ChainMath.MeanCosine(emb[0], answer).Should().BeApproximately(Math.Sqrt(0.5), 1e-12);
        ChainMath.MeanCosine(emb[4], answer).Should().BeApproximately(-0.5, 1e-12);
        var entries = emb.Keys.Select(k => new ChainEntry(k, 0.1 * k)).ToList();
        var kept = ChainMath.FilterBySimilarity(entries, e => ChainMath.MeanCosine(emb[e.SourceId], answer), topK: 2, threshold: 0.0);
        kept.Select(e => e.SourceId).Should().Equal(0, 5);   // tie at 0.7071: both kept; 0.5 cut by top-k; −0.5 by the threshold
        ChainMath.FilterBySimilarity(entries, e => ChainMath.MeanCosine(emb[e.SourceId], answer), topK: 10, threshold: 0.0)
            .Select(e => e.SourceId).Should().Equal(0, 2, 5);
        // attention-score fallback: highest backtracking scores
        ChainMath.FilterBySimilarity(entries, null, topK: 2).Select(e => e.SourceId).Should().Equal(4, 5);
    }

    [Theory]
    [InlineData("Add 3 and 4: 7 is 7", AnswerFormat.Number, 18, 19)]
    [InlineData("3 + 4 = 7\n#### 1,234.5\n", AnswerFormat.Number, 15, 22)]
    [InlineData("So $12% more\n\n#### -5 apples", AnswerFormat.Number, 19, 21)]
    [InlineData("We get \\boxed{\\frac{1}{2}} done", AnswerFormat.Boxed, 14, 25)]
    [InlineData("first line\n  Paris  \n", AnswerFormat.LastLine, 13, 18)]
    [InlineData("no digits\nthe answer is \\boxed{x}", AnswerFormat.Number, 31, 32)]
    public void Answer_spans(string text, AnswerFormat format, int start, int end)
    {
        var span = AnswerLocator.FindSpan(text, format);
        span.Should().Be((start, end));
    }

    [Theory]
    // Issue 14 item 11: the reference's GSM8K pattern \d{1,3}(,\d{3})* splits a comma-free number into runs of 3 digits and
    // keeps the last: "1625" → "162", "5" → "5". Ours (default) takes the whole number; number_span: reference reproduces it.
    [InlineData("#### 1625", NumberSpan.Whole, 5, 9)]
    [InlineData("#### 1625", NumberSpan.Reference, 8, 9)]          // "5"
    [InlineData("#### 12345", NumberSpan.Reference, 8, 10)]        // "123", "45" → "45"
    [InlineData("#### 1,625", NumberSpan.Reference, 5, 10)]        // thousands commas: the whole number
    [InlineData("#### 1625.5", NumberSpan.Reference, 8, 11)]       // "162", "5.5" → "5.5"
    [InlineData("#### -42", NumberSpan.Reference, 6, 8)]           // no minus sign in the reference's pattern
    [InlineData("#### 42", NumberSpan.Reference, 5, 7)]            // up to 3 digits: the same span as ours
    public void Number_span_whole_or_as_the_reference(string text, NumberSpan mode, int start, int end) =>
        AnswerLocator.FindSpan(text, AnswerFormat.Number, mode).Should().Be((start, end));

    [Fact]
    public void The_uqac_metric_offers_the_reference_number_span_option()
    {
        var spec = new UqacEstimatorFactory().Options.Single(o => o.Key == "number_span");
        spec.Default.Should().Be("whole");
        spec.AllowedValues.Should().Equal("whole", "reference");
    }

    [Fact]
    public void Answer_span_is_null_when_nothing_matches_and_maps_to_overlapping_tokens()
    {
        AnswerLocator.FindSpan("no number here", AnswerFormat.Number).Should().BeNull();
        AnswerLocator.FindSpan("no box", AnswerFormat.Boxed).Should().BeNull();
        // tokens "#", "###", " 1", "2", "</s>" with ends 1, 4, 6, 7, 7: the span of "12" [5, 7) covers tokens 2 and 3
        AnswerLocator.TokenSpan([1, 4, 6, 7, 7], (5, 7)).Should().Be((2, 3));
        AnswerLocator.TokenSpan([1, 4], (5, 7)).Should().BeNull();
    }
}
