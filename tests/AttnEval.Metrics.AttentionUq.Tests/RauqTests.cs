using AttnEval.Abstractions;

namespace AttnEval.Metrics.AttentionUq.Tests;

/// <summary>RAUQ against spec §1.6 (S1), fed through <see cref="SelfWeightReducer"/> as a backend delivers generation rows.</summary>
public sealed class RauqTests
{
    private static readonly RauqEstimatorFactory Factory = new();

    private static SampleEstimate Rauq(Dictionary<string, object?>? options = null, float[]? logProbs = null, float[]? entropies = null,
        int[]? answer = null, Action<IAttentionRowReducer, int>? deliver = null) =>
        S1.Run(S1.Create(Factory, options), S1.Model(), logProbs, entropies, answer, deliver);

    [Fact]
    public void Probability_variant_with_alpha_02_matches_S1()
    {
        var est = Rauq();
        est.Uncertainty.Should().BeApproximately(2.128554, 1e-6);
        var u = (double[])est.Details!["u"]!;
        u[0].Should().BeApproximately(2.128554, 1e-6);
        u[1].Should().BeApproximately(1.857290, 1e-6);
        est.Details["heads"].Should().BeEquivalentTo(new[] { 0, 1 }, "h_0 = 0 (mean 0.316667 > 0.300000), h_1 = 1");
        est.Details["layers"].Should().BeEquivalentTo(new[] { 0, 1 });
        est.Details["layer"].Should().Be(0);
        est.Details["alpha"].Should().Be(0.2);
        est.Confidence.Should().BeApproximately(Math.Exp(1 - 2.128554), 1e-6);
    }

    [Fact]
    public void Per_layer_confidences_match_the_spec_table()
    {
        // Through the reducer, then the layer math on what it kept: c of L0 and L1 (spec §1.6 first row).
        var reducer = (SelfWeightReducer)S1.Create(Factory).CreateReducer(S1.Model().Info, S1.P)!;
        S1.Generate(reducer);
        var s = RauqMath.TokenConfidences(S1.LogProbs, new float[4], 8, useEntropy: false);
        double[][] A(int l) => Enumerable.Range(0, S1.H).Select(h => Enumerable.Range(1, 3).Select(j => (double)reducer.SelfWeights(l, S1.P + j - 1)![h]).ToArray()).ToArray();
        RauqMath.Layer(0, s, A(0), 0.2).Confidences.Should().Equal([0.904837, 0.277400, 0.176786, 0.246817], (a, b) => Math.Abs(a - b) < 1e-6);
        RauqMath.Layer(1, s, A(1), 0.2).Confidences.Should().Equal([0.904837, 0.422174, 0.273289, 0.310493], (a, b) => Math.Abs(a - b) < 1e-6);
    }

    [Fact]
    public void Alpha_05_matches_S1() =>
        Rauq(new() { ["alpha"] = 0.5 }).Uncertainty.Should().BeApproximately(1.760522, 1e-6);

    [Fact]
    public void Entropy_variant_defaults_to_alpha_08_and_matches_S1()
    {
        // V = 8 from ModelInfo.VocabSize, H = [0.5, 2.0, 1.0, 0.2]
        var est = Rauq(new() { ["use_entropy"] = true }, entropies: [0.5f, 2.0f, 1.0f, 0.2f]);
        est.Uncertainty.Should().BeApproximately(1.267621, 1e-6);
        ((double[])est.Details!["u"]!)[1].Should().BeApproximately(1.175922, 1e-6);
        est.Details["alpha"].Should().Be(0.8);
        est.Details["variant"].Should().Be("entropy");
        est.Confidence.Should().BeNull("c is not a probability in the entropy variant");
        // an explicit alpha wins: 0.2 gives our reference value 1.611899
        Rauq(new() { ["use_entropy"] = true, ["alpha"] = 0.2 }, entropies: [0.5f, 2.0f, 1.0f, 0.2f]).Uncertainty.Should().BeApproximately(1.611899, 1e-6);
    }

    [Fact]
    public void Single_token_reads_no_attention()
    {
        var est = Rauq(logProbs: [-0.7f], answer: [2]);
        est.Uncertainty.Should().BeApproximately(1.7, 1e-6);
        // entropy variant: 1 − ln(ln V − H_0 + 1e−10)
        Rauq(new() { ["use_entropy"] = true }, logProbs: [-0.7f], entropies: [0.5f], answer: [2]).Uncertainty
            .Should().BeApproximately(1 - Math.Log(Math.Log(8) - 0.5), 1e-6);
    }

    [Fact]
    public void The_reducer_reads_the_diagonal_and_ignores_layers_it_did_not_ask_for()
    {
        // Explicit layers: [1] → only u_1. The backend here also delivers layer 0 (honourLayers: false) and the reducer ignores it.
        var est = Rauq(new() { ["layers"] = new List<long> { 1 } }, deliver: (r, n) => S1.Generate(r, n, chunk: 3, honourLayers: false));
        est.Uncertainty.Should().BeApproximately(1.857290, 1e-6);
        est.Details!["layers"].Should().BeEquivalentTo(new[] { 1 });

        var reducer = (SelfWeightReducer)S1.Create(Factory, new() { ["layers"] = new List<long> { 1 } }).CreateReducer(S1.Model().Info, S1.P)!;
        reducer.Layers.Should().BeEquivalentTo(new[] { 1 });
        S1.Generate(reducer, honourLayers: false);
        reducer.SelfWeights(1, 4).Should().Equal(0.35f, 0.45f);     // decode step 2: A[4, 4], not the sub-diagonal A[4, 3] = (0.05, 0.15)
        reducer.SelfWeights(0, 4).Should().BeNull();
        reducer.SelfWeights(1, 2).Should().BeNull("prompt rows are not kept");
        reducer.SelfWeights(1, 6).Should().BeNull("generation never computes the last position");
    }

    [Fact]
    public void Default_layer_range_is_inclusive_and_clipped()
    {
        RauqMath.DefaultLayers(32).Should().Equal(Enumerable.Range(10, 13));
        RauqMath.DefaultLayers(28).Should().Equal(Enumerable.Range(9, 11));
        RauqMath.DefaultLayers(2).Should().Equal(0, 1);
        RauqMath.DefaultLayers(1).Should().Equal(0);
        var reducer = S1.Create(Factory).CreateReducer(new ModelInfo("llama", 32, 32, 8, 4096, 32000, 4096, "bfloat16", "cuda"), 10)!;
        reducer.Layers.Should().BeEquivalentTo(Enumerable.Range(10, 13).ToArray(), "only 𝓛 is made eager");
    }

    [Fact]
    public void Ties_between_heads_go_to_the_lowest_index()
    {
        var r = RauqMath.Layer(3, [0.5, 0.5, 0.5], [[0.2, 0.4], [0.4, 0.2]], 0.2);
        r.Head.Should().Be(0);
        r.Layer.Should().Be(3);
        // c = 0.5, 0.1 + 0.8·0.2·0.5 = 0.18, 0.1 + 0.8·0.4·0.18 = 0.1576
        r.Uncertainty.Should().BeApproximately(1 - (Math.Log(0.5) + Math.Log(0.18) + Math.Log(0.1576)) / 3, 1e-12);
    }

    [Fact]
    public void Bad_options_name_the_key()
    {
        FluentActions.Invoking(() => S1.Create(Factory, new() { ["alpha"] = 1.5 })).Should().Throw<ArgumentException>().WithMessage("metrics.rauq.alpha: 1.5 is outside [0, 1]*");
        FluentActions.Invoking(() => S1.Create(Factory, new() { ["layers"] = new List<long>() })).Should().Throw<ArgumentException>().WithMessage("metrics.rauq.layers: the list is empty*");
        FluentActions.Invoking(() => S1.Create(Factory, new() { ["layers"] = new List<long> { -1 } })).Should().Throw<ArgumentException>().WithMessage("metrics.rauq.layers: -1 is below 0");
        FluentActions.Invoking(() => S1.Create(Factory, new() { ["use_entropy"] = "yes" })).Should().Throw<ArgumentException>().WithMessage("metrics.rauq.use_entropy: expected true or false*");
    }

    [Fact]
    public void A_layer_outside_the_model_costs_only_this_estimate()
    {
        var estimator = S1.Create(Factory, new() { ["layers"] = new List<long> { 1, 5 } });
        var reducer = estimator.CreateReducer(S1.Model().Info, S1.P);       // does not throw: that would cost the whole sample
        reducer!.Layers.Should().BeEquivalentTo(new[] { 1 });
        FluentActions.Invoking(() => S1.Run(estimator, S1.Model())).Should().Throw<InvalidOperationException>()
            .WithMessage("metrics.rauq.layers: layer 5 outside the model's 2 layers (0…1)");
    }

    [Fact]
    public void Missing_rows_and_zero_confidence_give_clear_errors()
    {
        FluentActions.Invoking(() => Rauq(deliver: (r, _) => S1.Generate(r, 3))).Should().Throw<InvalidOperationException>()
            .WithMessage("rauq: the attention row of decode step 3 (query position 5) of layer 0 was not delivered");
        var noReducer = S1.Context(S1.Model(), S1.Answer, S1.LogProbs, new float[4], reducer: null);
        FluentActions.Invoking(() => S1.Create(Factory).Estimate(noReducer)).Should().Throw<InvalidOperationException>().WithMessage("rauq: no attention rows*");
        FluentActions.Invoking(() => Rauq(logProbs: [float.NegativeInfinity, -1f, -1f, -1f])).Should().Throw<InvalidOperationException>()
            .WithMessage("rauq: a token confidence c(j) of layer 0 is 0*");
        S1.Create(Factory).Needs.Should().Be(MetricNeeds.TokenScores | MetricNeeds.AttentionRows);
    }
}
