using AttnEval.Abstractions;
using AttnEval.Metrics.Sar;
using NSubstitute;

namespace AttnEval.Metrics.Sar.Tests;

/// <summary>SAR against test vector TV-6 of specs/uq-methods.md §7 and hand-computed edge cases.</summary>
public sealed class SarTests
{
    // TV-6: three generations with token NLLs, token similarities (full vs token removed) and sentence similarities.
    private static readonly double[][] Nll = [[0.1, 2.0, 0.3], [0.2, 0.1], [1.5]];
    private static readonly double[][] TokenSims = [[0.9, 0.2, 0.95], [0.5, 0.9], [0.5]];
    private const double G12 = 0.9, G13 = 0.1, G23 = 0.2;
    private static double G(int a, int b) => (Math.Min(a, b), Math.Max(a, b)) switch { (0, 1) => G12, (0, 2) => G13, (1, 2) => G23, _ => throw new ArgumentException() };

    [Fact]
    public void TokenSar_matches_TV6()
    {
        var expected = new[] { 1.710526, 0.183333, 1.5 };
        for (int j = 0; j < 3; j++)
            SarMath.TokenSar(Nll[j].Select(x => (float)-x).ToArray(), SarMath.TokenRelevances(TokenSims[j])).Should().BeApproximately(expected[j], 1e-6);
    }

    [Fact]
    public void SentSar_and_Sar_match_TV6()
    {
        var (sent, sentPer) = SarMath.SentenceSar(Nll.Select(n => -n.Sum()).ToArray(), G, 0.001);
        sentPer.Should().Equal([-6.535445, -4.844290, -5.059162], (a, b) => Math.Abs(a - b) < 1e-6);
        sent.Should().BeApproximately(-5.479632, 1e-6);

        var tokenSar = Enumerable.Range(0, 3).Select(j => SarMath.TokenSar(Nll[j].Select(x => (float)-x).ToArray(), SarMath.TokenRelevances(TokenSims[j]))).ToArray();
        var (sar, sarPer) = SarMath.SentenceSar(tokenSar.Select(x => -x).ToArray(), G, 0.001);
        sarPer.Should().Equal([-6.648642, -5.338269, -5.219265], (a, b) => Math.Abs(a - b) < 1e-6);
        sar.Should().BeApproximately(-5.735392, 1e-6);
    }

    [Fact]
    public void Estimators_reproduce_TV6_through_the_contract_with_a_fake_similarity_model()
    {
        var ctx = Tv6Context();
        Create<SarEstimator>().Estimate(ctx).Uncertainty.Should().BeApproximately(-5.735392, 1e-6);
        Create<SentSarEstimator>().Estimate(ctx).Uncertainty.Should().BeApproximately(-5.479632, 1e-6);
        var token = Create<TokenSarEstimator>().Estimate(ctx);   // the judged answer is generation 1
        token.Uncertainty.Should().BeApproximately(1.710526, 1e-6);
        token.Confidence.Should().BeApproximately(Math.Exp(-1.710526), 1e-6);
    }

    [Fact]
    public void Num_samples_uses_the_first_K_sampled_answers()
    {
        var ctx = Tv6Context();
        var two = Create<SentSarEstimator>(new() { [SarEstimatorBase.SamplesKey] = 2L }).Estimate(ctx);
        // K = 2: E_1 = -log(e^-2.4 + 0.9 e^-0.3 / 0.001), E_2 = -log(e^-0.3 + 0.9 e^-2.4 / 0.001)
        var e1 = -Math.Log(Math.Exp(-2.4) + 0.9 * Math.Exp(-0.3) / 0.001);
        var e2 = -Math.Log(Math.Exp(-0.3) + 0.9 * Math.Exp(-2.4) / 0.001);
        two.Uncertainty.Should().BeApproximately((e1 + e2) / 2, 1e-6);   // float32 log-probs
        two.Details!["samples"].Should().Be(2);
    }

    [Fact]
    public void Defaults_follow_the_spec()
    {
        var f = new SarEstimator();
        f.Options.Single(o => o.Key == "temperature").Default.Should().Be(0.001);
        f.Options.Single(o => o.Key == "num_samples").Default.Should().Be(5L);
        f.Options.Single(o => o.Key == "question_prefix").Default.Should().Be(true);
        new TokenSarEstimator().Options.Select(o => o.Key).Should().Equal("question_prefix");
        f.Create(OptionValues.Empty).Needs.Should().Be(MetricNeeds.TokenScores | MetricNeeds.SampledAnswers | MetricNeeds.SentenceSimilarity);
        new SentSarEstimator().Create(OptionValues.Empty).Needs.Should().Be(MetricNeeds.SampledAnswers | MetricNeeds.SentenceSimilarity);
        new TokenSarEstimator().Create(OptionValues.Empty).Needs.Should().Be(MetricNeeds.TokenScores | MetricNeeds.SentenceSimilarity);
    }

    [Fact]
    public void Special_tokens_get_zero_relevance_and_removal_is_by_position()
    {
        // answer "x x" + EOS: removing the first "x" must compare with "Q x" (by position), not "Q " (string replace).
        var calls = new List<(string, string)>();
        var sim = Substitute.For<ISentenceSimilarity>();
        sim.Similarity(Arg.Any<string>(), Arg.Any<string>()).Returns(c => { calls.Add((c.ArgAt<string>(0), c.ArgAt<string>(1))); return 0.5; });
        // A substitute does not run the contract's default Similarities (one Similarity per text): configure it so.
        sim.Similarities(Arg.Any<string>(), Arg.Any<IReadOnlyList<string>>())
            .Returns(c => c.ArgAt<IReadOnlyList<string>>(1).Select(o => sim.Similarity(c.ArgAt<string>(0), o)).ToList());
        var tok = WordTokenizer();
        var g = SarEstimatorBase.TokenSimilarities(tok, [20, 20, 1], "Q", prefix: true, sim);
        g.Should().Equal(0.5, 0.5, 1.0);
        calls.Should().Equal(("Q x x", "Q x"), ("Q x x", "Q x"));
        // with EOS weight 0, a huge EOS NLL changes nothing: (0.5·1 + 0.5·3) / 1 = 2
        SarMath.TokenSar([-1f, -3f, -50f], SarMath.TokenRelevances(g)).Should().BeApproximately(2, 1e-9);
    }

    [Fact]
    public void Zero_total_relevance_falls_back_to_the_mean_nll_and_negative_cosines_are_clamped()
    {
        SarMath.TokenSar([-1f, -2f], SarMath.TokenRelevances([1.0, 1.0])).Should().BeApproximately(1.5, 1e-6);
        SarMath.TokenRelevances([-0.3, 1.4, 0.25]).Should().Equal(1.0, 0.0, 0.75);
        // a negative sentence similarity contributes nothing: E = -log p
        var (s, _) = SarMath.SentenceSar([-1.0, -2.0], (_, _) => -0.4);
        s.Should().BeApproximately(1.5, 1e-12);
    }

    [Fact]
    public void Sentence_sar_stays_finite_for_sequence_probabilities_below_the_double_range()
    {
        // p = e^-2000 underflows to 0 in double; log-sum-exp keeps E exact: E_1 = -log(e^-2000 + 0.5 e^-1000/t) ≈ 1000 - log(500)
        var (_, per) = SarMath.SentenceSar([-2000.0, -1000.0], (_, _) => 0.5, 0.001);
        per[0].Should().BeApproximately(1000 - Math.Log(500), 1e-9);
        per[1].Should().BeApproximately(1000, 1e-9);   // e^-1000 + 0.5 e^-2000/0.001 ≈ e^-1000
    }

    [Fact]
    public void Bad_input_gives_clear_errors()
    {
        FluentActions.Invoking(() => SarMath.TokenSar([-1f], [0.1, 0.2])).Should().Throw<ArgumentException>().WithMessage("*1 tokens and 2 relevances*");
        FluentActions.Invoking(() => SarMath.SentenceSar([], (_, _) => 0)).Should().Throw<ArgumentException>().WithMessage("*at least one sampled answer*");
        FluentActions.Invoking(() => SarMath.SentenceSar([0.5], (_, _) => 0)).Should().Throw<ArgumentException>().WithMessage("*log-probability 0.5*");
        FluentActions.Invoking(() => SarMath.SentenceSar([-1.0], (_, _) => 0, 0)).Should().Throw<ArgumentException>().WithMessage("*t must be > 0*");
        var noSamples = Tv6Context() with { SampledAnswers = [] };
        FluentActions.Invoking(() => Create<SarEstimator>().Estimate(noSamples)).Should().Throw<InvalidOperationException>().WithMessage("no sampled answers: set generation.samples*");
        var noSim = Tv6Context() with { Similarity = null };
        FluentActions.Invoking(() => Create<TokenSarEstimator>().Estimate(noSim)).Should().Throw<InvalidOperationException>().WithMessage("no sentence-similarity model*");
    }

    // ---- fixtures -------------------------------------------------------------------------------------------------

    private static ISampleEstimator Create<T>(Dictionary<string, object?>? options = null) where T : SarEstimatorBase, new() =>
        new T().Create(new OptionValues(options ?? new Dictionary<string, object?>()));

    /// <summary>Word tokenizer: 1 = EOS, id 10 + k = word k of "abcdef…" as single letters; 20 = "x".</summary>
    private static ITokenizer WordTokenizer()
    {
        var tok = Substitute.For<ITokenizer>();
        tok.EosId.Returns(1);
        tok.BosId.Returns(0);
        tok.StopIds.Returns([1]);
        tok.Decode(Arg.Any<IEnumerable<int>>()).Returns(c => string.Join(" ", c.Arg<IEnumerable<int>>().Where(i => i >= 10).Select(i => i == 20 ? "x" : ((char)('a' + i - 10)).ToString())));
        return tok;
    }

    /// <summary>TV-6 as generations "a b c", "d e", "f" to question "Q", with a similarity model that answers only the
    /// pairs of TV-6 (any other comparison fails the test).</summary>
    private static EstimationContext Tv6Context()
    {
        int[][] ids = [[10, 11, 12], [13, 14], [15]];
        var texts = ids.Select(t => string.Join(" ", t.Select(i => ((char)('a' + i - 10)).ToString()))).ToArray();
        var table = new Dictionary<(string, string), double>();
        for (int j = 0; j < 3; j++)
            for (int i = 0; i < ids[j].Length; i++)
            {
                var without = string.Join(" ", ids[j].Where((_, k) => k != i).Select(x => ((char)('a' + x - 10)).ToString()));
                table[("Q " + texts[j], "Q " + without)] = TokenSims[j][i];
            }
        for (int a = 0; a < 3; a++)
            for (int b = a + 1; b < 3; b++)
                table[("Q " + texts[a], "Q " + texts[b])] = G(a, b);
        var sim = Substitute.For<ISentenceSimilarity>();
        sim.Similarity(Arg.Any<string>(), Arg.Any<string>()).Returns(c => table[(c.ArgAt<string>(0), c.ArgAt<string>(1))]);
        // A substitute does not run the contract's default Similarities (one Similarity per text): configure it so.
        sim.Similarities(Arg.Any<string>(), Arg.Any<IReadOnlyList<string>>())
            .Returns(c => c.ArgAt<IReadOnlyList<string>>(1).Select(o => sim.Similarity(c.ArgAt<string>(0), o)).ToList());

        var model = Substitute.For<ILanguageModel>();
        var tok = WordTokenizer();
        model.Tokenizer.Returns(tok);
        var gens = Enumerable.Range(0, 3).Select(j => new GeneratedSequence(
            new TokenScores(ids[j], Nll[j].Select(x => (float)-x).ToArray(), new float[ids[j].Length]), texts[j], FinishReason.Length)).ToArray();
        return new EstimationContext
        {
            Model = model, Sample = new Sample("s1", "Q", null, new Dictionary<string, object?>()), Prompt = "Q", PromptTokens = [0],
            Answer = gens[0], SampledAnswers = gens, Similarity = sim,
        };
    }
}
