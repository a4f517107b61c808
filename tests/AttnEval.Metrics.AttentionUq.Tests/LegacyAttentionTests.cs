using AttnEval.Abstractions;

namespace AttnEval.Metrics.AttentionUq.Tests;

/// <summary>The 2023 prototypes against spec §5.4 (S1, e = [0.5, 2.0, 1.0, 0.2] as today's token entropies), the attention
/// variants through the mean reducer over S1's generation rows.</summary>
public sealed class LegacyAttentionTests
{
    private static readonly float[] E = [0.5f, 2.0f, 1.0f, 0.2f];

    private static SampleEstimate Run(ISampleEstimatorFactory factory, Dictionary<string, object?>? options = null, float[]? e = null, int[]? answer = null) =>
        S1.Run(S1.Create(factory, options), S1.Model(), logProbs: new float[(e ?? E).Length], entropies: e ?? E, answer: answer);

    [Fact]
    public void Attention_entropy_matches_S1()
    {
        var est = Run(new AttentionEntropyEstimatorFactory());
        est.Uncertainty.Should().BeApproximately(0.910020, 1e-6);
        ((double[])est.Details!["kappa"]!).Should().Equal([1.791462, 0.935811, 0.772727, 0.5], (a, b) => Math.Abs(a - b) < 1e-6);
        ((double[])est.Details["token"]!).Should().Equal([0.895731, 1.871622, 0.772727], (a, b) => Math.Abs(a - b) < 1e-6);
        est.Confidence.Should().BeNull();
    }

    [Fact]
    public void Attention_recursive_matches_S1()
    {
        var est = Run(new AttentionRecursiveEstimatorFactory());
        est.Uncertainty.Should().BeApproximately(0.688851, 1e-6);
        ((double[])est.Details!["u"]!).Should().Equal([0.5, 1.0, 0.75, 0.505405], (a, b) => Math.Abs(a - b) < 1e-6);
        ((double[])est.Details["token"]!).Should().Equal([0.5, 1.0, 0.75], (a, b) => Math.Abs(a - b) < 1e-6);
    }

    [Theory]
    [InlineData(0.9, 0.896516, 0.682895)]
    [InlineData(0.8, 0.903757, 0.684722)]
    public void Exponential_variants_match_S1(double beta, double entropy, double recursive)
    {
        var options = new Dictionary<string, object?> { ["coef"] = beta };
        var est = Run(new ExpAttentionEntropyEstimatorFactory(), options);
        est.Uncertainty.Should().BeApproximately(entropy, 1e-6);
        est.Details!["coef"].Should().Be(beta);
        Run(new ExpAttentionRecursiveEstimatorFactory(), options).Uncertainty.Should().BeApproximately(recursive, 1e-6);
        if (beta == 0.9)
            ((double[])est.Details["token"]!).Should().Equal([0.943144, 1.858419, 0.684502], (a, b) => Math.Abs(a - b) < 1e-6);
    }

    [Fact]
    public void The_mean_reducer_gives_the_head_mean_of_S1()
    {
        var reducer = (GeneratedKeysReducer)S1.Create(new AttentionEntropyEstimatorFactory()).CreateReducer(S1.Model().Info, S1.P)!;
        S1.Generate(reducer);
        reducer.Row(1).Should().Equal([0.3875], (a, b) => Math.Abs(a - b) < 1e-7);
        reducer.Row(2).Should().Equal([0.175, 0.2875], (a, b) => Math.Abs(a - b) < 1e-7);
        reducer.Row(3).Should().Equal([0.1125, 0.1375, 0.30], (a, b) => Math.Abs(a - b) < 1e-7);
    }

    [Fact]
    public void Estimators_work_on_copies_so_repeated_runs_agree()
    {
        // LM-Polygraph's prototypes changed the shared attention in place: a second AttentionEntropySeq gave 0.915013 (spec §5.2).
        var estimator = S1.Create(new AttentionEntropyEstimatorFactory());
        var reducer = estimator.CreateReducer(S1.Model().Info, S1.P)!;
        S1.Generate(reducer);
        var ctx = S1.Context(S1.Model(), S1.Answer, new float[4], E, reducer);
        estimator.Estimate(ctx).Uncertainty.Should().BeApproximately(0.910020, 1e-6);
        S1.Create(new AttentionRecursiveEstimatorFactory()).Estimate(ctx).Uncertainty.Should().BeApproximately(0.688851, 1e-6);
        estimator.Estimate(ctx).Uncertainty.Should().BeApproximately(0.910020, 1e-6);
    }

    [Fact]
    public void Single_token_returns_its_entropy()
    {
        foreach (var f in new ISampleEstimatorFactory[] { new AttentionEntropyEstimatorFactory(), new AttentionRecursiveEstimatorFactory() })
            Run(f, e: [1.25f], answer: [2]).Uncertainty.Should().Be(1.25);
        Run(new ExpAttentionEntropyEstimatorFactory(), new() { ["coef"] = 0.9 }, e: [1.25f], answer: [2]).Uncertainty.Should().Be(1.25);
    }

    [Fact]
    public void Exponential_variants_need_no_attention_and_a_coef()
    {
        var f = new ExpAttentionRecursiveEstimatorFactory();
        var spec = f.Options.Should().ContainSingle().Subject;
        spec.Key.Should().Be("coef");
        spec.Required.Should().BeTrue();
        spec.Default.Should().BeNull();
        new AttentionEntropyEstimatorFactory().Options.Should().BeEmpty();

        var est = S1.Create(f, new() { ["coef"] = 0.9 });
        est.Needs.Should().Be(MetricNeeds.TokenScores);
        est.CreateReducer(S1.Model().Info, S1.P).Should().BeNull();
        S1.Create(new AttentionRecursiveEstimatorFactory()).Needs.Should().Be(MetricNeeds.TokenScores | MetricNeeds.AttentionRows);

        FluentActions.Invoking(() => S1.Create(f)).Should().Throw<ArgumentException>().WithMessage("metrics.exp-attention-recursive.coef: is required*");
        FluentActions.Invoking(() => S1.Create(new ExpAttentionEntropyEstimatorFactory(), new() { ["coef"] = 0.0 })).Should().Throw<ArgumentException>()
            .WithMessage("metrics.exp-attention-entropy.coef: 0 is outside (0, ∞)");
    }

    [Fact]
    public void Exponential_rows_stay_finite_for_any_beta_and_length()
    {
        foreach (var beta in new[] { 1e-3, 0.9, 1.0, 3.0 })
        {
            var rows = LegacyAttentionMath.ExponentialRows(2000, beta);
            rows[1999].Sum().Should().BeApproximately(1, 1e-9);
            rows[1999].Should().OnlyContain(x => double.IsFinite(x) && x >= 0);
        }
        // β = 1 is uniform over earlier tokens; row j of β = 0.5 is ∝ (0.5^j … 0.5^1)
        LegacyAttentionMath.ExponentialRows(4, 1.0)[3].Should().Equal([1 / 3.0, 1 / 3.0, 1 / 3.0], (a, b) => Math.Abs(a - b) < 1e-12);
        LegacyAttentionMath.ExponentialRows(3, 0.5)[2].Should().Equal([0.25 / 0.75, 0.5 / 0.75], (a, b) => Math.Abs(a - b) < 1e-12);
    }

    [Fact]
    public void Missing_or_empty_rows_are_reported()
    {
        FluentActions.Invoking(() => S1.Run(S1.Create(new AttentionEntropyEstimatorFactory()), S1.Model(), new float[4], E, deliver: (r, _) => S1.Generate(r, 2)))
            .Should().Throw<InvalidOperationException>().WithMessage("attention-entropy: the attention rows of decode step 2 (query position 4) were not delivered");
        FluentActions.Invoking(() => LegacyAttentionMath.Normalise([[], [0.0]])).Should().Throw<ArgumentException>().WithMessage("row 1 puts no attention*");
    }
}
