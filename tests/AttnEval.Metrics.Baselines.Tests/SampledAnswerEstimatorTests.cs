using AttnEval.Abstractions;
using AttnEval.Metrics.Baselines;
using NSubstitute;

namespace AttnEval.Metrics.Baselines.Tests;

/// <summary>Estimators over sampled answers, on the test vectors of specs/uq-methods.md §7 (TV-6, TV-7, TV-8) and hand-computed cases.</summary>
public class SampledAnswerEstimatorTests
{
    // TV-6: token NLLs of three generations.
    private static readonly double[][] Tv6Nll = [[0.1, 2.0, 0.3], [0.2, 0.1], [1.5]];

    // TV-7: four samples.
    private static readonly double[] Tv7Lambda = [-1.0, -1.6, -3.0, -2.2];
    private static readonly int[] Tv7Lengths = [2, 2, 4, 3];
    private static readonly int[] Tv7Classes = [0, 0, 1, 0];

    private static GeneratedSequence Seq(string text, double[] nll, FinishReason finish = FinishReason.Length) =>
        new(new TokenScores(Enumerable.Range(10, nll.Length).ToList(), nll.Select(x => (float)-x).ToList(), nll.Select(_ => 1f).ToList()), text, finish);

    private static EstimationContext Context(IReadOnlyList<GeneratedSequence> samples, ISentenceSimilarity? similarity = null) => new()
    {
        Model = Substitute.For<ILanguageModel>(),
        Sample = new Sample("s1", "q", "a", new Dictionary<string, object?>()),
        Prompt = "q",
        PromptTokens = [1, 2],
        Answer = Seq("greedy", [0.5]),
        SampledAnswers = samples,
        Similarity = similarity,
    };

    private static SampleEstimate Run(ISampleEstimatorFactory f, EstimationContext ctx, params (string Key, object? Value)[] options)
    {
        var values = f.Options.ToDictionary(o => o.Key, o => o.Default);
        foreach (var (k, v) in options) values[k] = v;
        return f.Create(new OptionValues(values)).Estimate(ctx);
    }

    [Fact]
    public void Tv6_predictive_entropy_and_its_length_normalised_form()
    {
        var samples = Tv6Nll.Select((n, i) => Seq($"g{i}", n)).ToList();
        Run(new PredictiveEntropy(), Context(samples)).Uncertainty.Should().BeApproximately(1.4, 1e-6);
        Run(new LengthNormalizedPredictiveEntropy(), Context(samples)).Uncertainty.Should().BeApproximately(0.816667, 1e-6);
        Run(new PredictiveEntropy(), Context(samples)).Confidence.Should().BeNull();
    }

    [Fact]
    public void Tv7_predictive_entropy_from_sequence_log_probabilities()
    {
        PredictiveEntropy.Compute(Tv7Lambda).Should().BeApproximately(1.95, 1e-12);
        LengthNormalizedPredictiveEntropy.Compute(Tv7Lambda, Tv7Lengths).Should().BeApproximately(0.695833, 1e-6);
    }

    [Theory]
    [InlineData("farquhar", 0.545460)]
    [InlineData("polygraph-mean", 1.038608)]
    [InlineData("polygraph-direct", 0.935045)]
    public void Tv7_semantic_entropy_variants(string variant, double expected) =>
        SemanticEntropy.Compute(variant, Tv7Lambda, Tv7Lengths, Tv7Classes).Should().BeApproximately(expected, 2e-6);

    [Fact]
    public void Kuhn_2023_variant_averages_shifted_class_log_likelihoods_over_classes()
    {
        // Hand computation: class 0 holds Λ/T = −0.5, −0.8, −2.2/3; class 1 holds −0.75; SE = −mean_c (logsumexp − 5).
        var c0 = Math.Log(Math.Exp(-0.5) + Math.Exp(-0.8) + Math.Exp(-2.2 / 3));
        SemanticEntropy.Compute("kuhn-2023", Tv7Lambda, Tv7Lengths, Tv7Classes).Should().BeApproximately(5 - (c0 - 0.75) / 2, 1e-12);
        c0.Should().BeApproximately(0.429289, 1e-6);
    }

    [Fact]
    public void Tv7_discrete_semantic_entropy() =>
        DiscreteSemanticEntropy.Compute(Tv7Classes).Should().BeApproximately(0.562335, 1e-6);

    [Fact]
    public void Semantic_entropy_is_zero_when_all_samples_agree_and_log_k_for_k_distinct_meanings()
    {
        SemanticEntropy.Compute("farquhar", Tv7Lambda, Tv7Lengths, [3, 3, 3, 3]).Should().BeApproximately(0, 1e-12);
        DiscreteSemanticEntropy.Compute([0, 1, 2, 3]).Should().BeApproximately(Math.Log(4), 1e-12);
    }

    [Fact]
    public void Semantic_entropy_estimator_clusters_final_answers_and_records_the_classes()
    {
        // TV-7 as generated texts: three samples end in 42 (one written "42.0"), one in 41.
        var nll = Tv7Lambda.Select((l, k) => Enumerable.Repeat(-l / Tv7Lengths[k], Tv7Lengths[k]).ToArray()).ToArray();
        var samples = new[] { "6*7 = 42\n#### 42", "#### 42.0", "so 41\n#### 41", "The answer is 42." }
            .Select((t, k) => Seq(t, nll[k])).ToList();
        var e = Run(new SemanticEntropy(), Context(samples));
        e.Uncertainty.Should().BeApproximately(0.545460, 2e-6);
        ((int[])e.Details!["classes"]!).Should().Equal(0, 0, 1, 0);
        Run(new SemanticEntropy(), Context(samples), ("variant", "polygraph-mean")).Uncertainty.Should().BeApproximately(1.038608, 2e-6);
        Run(new DiscreteSemanticEntropy(), Context(samples)).Uncertainty.Should().BeApproximately(0.562335, 1e-6);
        // As whole normalised texts, all four differ.
        Run(new DiscreteSemanticEntropy(), Context(samples), ("equivalence", "normalized-text")).Uncertainty.Should().BeApproximately(Math.Log(4), 1e-12);
    }

    [Fact]
    public void Eos_log_probability_is_in_the_sequence_log_probability_unless_excluded()
    {
        // Two samples ended by a stop token whose log-prob is −2 (the last NLL), one cut by length.
        var samples = new[] { Seq("a", [0.5, 2.0], FinishReason.StopToken), Seq("b", [0.25, 0.25, 2.0], FinishReason.StopToken), Seq("c", [1.0], FinishReason.Length) };
        Run(new PredictiveEntropy(), Context(samples)).Uncertainty.Should().BeApproximately((2.5 + 2.5 + 1.0) / 3, 1e-6);
        Run(new PredictiveEntropy(), Context(samples), ("include_eos", false)).Uncertainty.Should().BeApproximately((0.5 + 0.5 + 1.0) / 3, 1e-6);
        Run(new LengthNormalizedPredictiveEntropy(), Context(samples)).Uncertainty.Should().BeApproximately((2.5 / 2 + 2.5 / 3 + 1.0) / 3, 1e-6);
        Run(new LengthNormalizedPredictiveEntropy(), Context(samples), ("include_eos", false)).Uncertainty.Should().BeApproximately((0.5 + 0.25 + 1.0) / 3, 1e-6);
    }

    [Fact]
    public void Too_few_samples_name_the_recipe_key()
    {
        var act = () => Run(new LexicalSimilarity(), Context([Seq("only one", [0.1])]));
        act.Should().Throw<InvalidOperationException>().WithMessage("lexical-similarity needs at least 2 sampled answers per prompt but got 1; set generation.samples ≥ 2*");
        var pe = () => Run(new PredictiveEntropy(), Context([]));
        pe.Should().Throw<InvalidOperationException>().WithMessage("*generation.samples ≥ 1*");
    }

    [Theory]
    [InlineData("Janet makes 9 * 2 = $18 a day.\n#### 18", "#### 18.0", true)]
    [InlineData("#### 1,234", "so the total is 1234", true)]
    [InlineData("16 - 3 = 13\n#### 13 eggs", "#### 16", false)]
    [InlineData("The Onion.", "onion", true)]
    [InlineData("an onion", "garlic", false)]
    [InlineData("#### -5", "#### 5", false)]
    public void Final_answer_keys(string a, string b, bool equal) =>
        (AnswerEquivalence.FinalAnswer(a) == AnswerEquivalence.FinalAnswer(b)).Should().Be(equal);

    [Fact]
    public void Similarity_rule_merges_with_the_first_member_of_a_class_in_both_directions()
    {
        var sim = Substitute.For<ISentenceSimilarity>();
        sim.Similarity(Arg.Any<string>(), Arg.Any<string>()).Returns(c => ((string)c[0])[0] == ((string)c[1])[0] ? 0.95 : 0.2);
        sim.Similarity("x1", "x2").Returns(0.95);
        sim.Similarity("x2", "x1").Returns(0.5); // one direction below the threshold: not equivalent
        new AnswerEquivalence("similarity", 0.9).Cluster(["a1", "b1", "a2", "x1", "x2", "b2"], sim).Should().Equal(0, 1, 0, 2, 3, 1);
        new AnswerEquivalence("similarity", 0.9).Needs.Should().Be(MetricNeeds.SentenceSimilarity);
        var act = () => new AnswerEquivalence("similarity").Cluster(["a", "b"]);
        act.Should().Throw<InvalidOperationException>().WithMessage("*needs a sentence-similarity model*");
        new AnswerEquivalence().Needs.Should().Be(MetricNeeds.None);
    }

    [Fact]
    public void Polygraph_class_masses_never_exceed_one()
    {
        // Issue 14 item 10: three identical samples of Λ = −0.2 give a class mass 3·e^−0.2 ≈ 2.456 > 1, and polygraph-mean went
        // negative (−0.298959). A class mass is capped at 1 (log 0): mean −(0 + 0 + 0 − 1.5)/4 = 0.375; direct −e^−1.5·(−1.5) = 0.334695.
        double[] lam = [-0.2, -0.2, -0.2, -1.5];
        int[] len = [1, 1, 1, 1], cls = [0, 0, 0, 1];
        SemanticEntropy.Compute("polygraph-mean", lam, len, cls).Should().BeApproximately(0.375, 1e-12);
        SemanticEntropy.Compute("polygraph-direct", lam, len, cls).Should().BeApproximately(1.5 * Math.Exp(-1.5), 1e-12);
    }

    [Fact]
    public void Unique_responses_deduplicates_identical_samples_before_the_class_masses()
    {
        // LM-Polygraph's use_unique_responses: "#### 7" three times and "#### 9" once → unique samples Λ = −0.2 and −1.5.
        var samples = new[] { "#### 7", "#### 7", "#### 7", "#### 9" }.Select((t, k) => Seq(t, [k < 3 ? 0.2 : 1.5])).ToList();
        // polygraph-mean: −(−0.2 − 1.5)/2 = 0.85; polygraph-direct: 0.2·e^−0.2 + 1.5·e^−1.5 = 0.498441;
        // farquhar: p = e^−0.2 / (e^−0.2 + e^−1.5) = 0.785834…, entropy 0.519423 (without dedup 0.286705).
        var e = Run(new SemanticEntropy(), Context(samples), ("unique_responses", true), ("variant", "polygraph-mean"));
        e.Uncertainty.Should().BeApproximately(0.85, 1e-6); // log-probs pass through float token scores
        e.Details!["unique_responses"].Should().Be(true);
        e.Details["n_unique"].Should().Be(2);
        e.Details["variant"].Should().Be("polygraph-mean");
        Run(new SemanticEntropy(), Context(samples), ("unique_responses", true), ("variant", "polygraph-direct")).Uncertainty
            .Should().BeApproximately(0.2 * Math.Exp(-0.2) + 1.5 * Math.Exp(-1.5), 1e-6);
        Run(new SemanticEntropy(), Context(samples), ("unique_responses", true)).Uncertainty.Should().BeApproximately(0.519423, 1e-6);
        Run(new SemanticEntropy(), Context(samples)).Uncertainty.Should().BeApproximately(0.286705, 1e-6);
    }

    [Fact]
    public void Semantic_estimators_declare_similarity_only_when_their_rule_uses_it()
    {
        ISampleEstimator Make(ISampleEstimatorFactory f, string eq) =>
            f.Create(new OptionValues(f.Options.ToDictionary(o => o.Key, o => o.Key == "equivalence" ? eq : o.Key == "similarity" ? eq : o.Default)));
        Make(new SemanticEntropy(), "final-answer").Needs.Should().Be(MetricNeeds.SampledAnswers);
        Make(new SemanticEntropy(), "similarity").Needs.Should().Be(MetricNeeds.SampledAnswers | MetricNeeds.SentenceSimilarity);
        Make(new EigVEstimator(), "jaccard").Needs.Should().Be(MetricNeeds.SampledAnswers);
        Make(new EigVEstimator(), "sentence").Needs.Should().Be(MetricNeeds.SampledAnswers | MetricNeeds.SentenceSimilarity);
    }

    [Fact]
    public void Lexical_similarity_is_minus_the_mean_pairwise_rouge_l()
    {
        // Pairs: (the cat sat, the cat ran) LCS 2 of 3 → F 2/3; (the cat sat, a dog ran) 0; (the cat ran, a dog ran) LCS 1 → F 1/3.
        LexicalSimilarity.Compute(["The cat sat.", "the cat ran", "a dog ran"]).Should().BeApproximately(-1.0 / 3, 1e-12);
        Rouge.LFMeasure("a b c d", "b d").Should().BeApproximately(2 * 0.5 * 1 / 1.5, 1e-12);
        Rouge.LFMeasure("", "x").Should().Be(0);
        Run(new LexicalSimilarity(), Context([Seq("same words", [0.1]), Seq("Same, words!", [0.2])])).Uncertainty.Should().Be(-1);
    }

    [Fact]
    public void Lexical_similarity_keeps_combining_marks()
    {
        // Issue 14 item 9: "दिन" and "दान" differ only in their vowel signs; they share no ROUGE token (was −1: identical once the marks were dropped).
        LexicalSimilarity.Compute(["दिन", "दान"]).Should().Be(0);
        LexicalSimilarity.Compute(["caf\u00e9", "cafe\u0301"]).Should().Be(-1);
    }

    private static readonly double[,] Tv8 = { { 1, 0.9, 0.1 }, { 0.9, 1, 0.2 }, { 0.1, 0.2, 1 } };

    [Fact]
    public void Tv8_graph_estimators()
    {
        SimilarityGraph.Spectrum(Tv8).Values.Should().Equal([0, 0.300672, 0.953907], (a, b) => Math.Abs(a - b) < 1e-6);
        SimilarityGraph.EigV(Tv8).Should().BeApproximately(1.745421, 1e-6);
        SimilarityGraph.Degree(Tv8).Should().BeApproximately(0.4, 1e-12);
        SimilarityGraph.Eccentricity(Tv8, 0.9).Should().BeApproximately(1.000148, 1e-6);
    }

    [Fact]
    public void Graph_estimators_on_identical_and_on_disjoint_answers()
    {
        // All alike: one cluster — L = I − 11ᵀ/K has eigenvalues 0, 1, 1: EigV 1, degree 0, eccentricity 0 (the constant eigenvector centred).
        var same = SimilarityGraph.Matrix(["x = 4", "X = 4", "x  =  4"], "jaccard");
        SimilarityGraph.EigV(same).Should().BeApproximately(1, 1e-9);
        SimilarityGraph.Degree(same).Should().BeApproximately(0, 1e-12);
        SimilarityGraph.Eccentricity(same).Should().BeApproximately(0, 1e-9);
        // Nothing shared: W = I, L = 0: EigV = K, degree 1 − 1/K, eccentricity = ‖I − 11ᵀ/K‖_F = sqrt(K − 1).
        var apart = SimilarityGraph.Matrix(["a", "b", "c", "d"], "jaccard");
        SimilarityGraph.EigV(apart).Should().BeApproximately(4, 1e-9);
        SimilarityGraph.Degree(apart).Should().BeApproximately(0.75, 1e-12);
        SimilarityGraph.Eccentricity(apart).Should().BeApproximately(Math.Sqrt(3), 1e-9);
    }

    [Fact]
    public void Similarity_matrix_jaccard_sentence_and_bad_input()
    {
        SimilarityGraph.Jaccard("a b c", "B C d").Should().Be(0.5);
        SimilarityGraph.Jaccard("", " ").Should().Be(1);
        var sim = Substitute.For<ISentenceSimilarity>();
        sim.Similarity("p", "q").Returns(0.6);
        sim.Similarity("q", "p").Returns(0.4);
        sim.Similarity("p", "r").Returns(-0.3);
        sim.Similarity("r", "p").Returns(-0.3);
        sim.Similarity("q", "r").Returns(0.8);
        sim.Similarity("r", "q").Returns(0.8);
        var w = SimilarityGraph.Matrix(["p", "q", "r"], "sentence", sim);
        w.Should().BeEquivalentTo(new double[,] { { 1, 0.5, 0 }, { 0.5, 1, 0.8 }, { 0, 0.8, 1 } });
        var none = () => SimilarityGraph.Matrix(["p", "q"], "sentence");
        none.Should().Throw<InvalidOperationException>().WithMessage("*needs a sentence-similarity model*");
        var bad = () => SimilarityGraph.Laplacian(new double[,] { { 1, -0.5 }, { -0.5, 1 } });
        bad.Should().Throw<ArgumentException>().WithMessage("*non-negative*");
    }

    [Fact]
    public void Graph_estimator_runs_on_sampled_answer_texts()
    {
        var samples = new[] { "x = 4", "X = 4", "y = 5" }.Select(t => Seq(t, [0.1])).ToList();
        var w = SimilarityGraph.Matrix(samples.Select(s => s.Text).ToList(), "jaccard");
        Run(new EigVEstimator(), Context(samples)).Uncertainty.Should().Be(SimilarityGraph.EigV(w));
        Run(new DegreeEstimator(), Context(samples)).Uncertainty.Should().BeApproximately(1 - (3 + 2 * (1 + 0.2 + 0.2)) / 9.0, 1e-12);
        Run(new EccentricityEstimator(), Context(samples), ("eigv_threshold", 0.5)).Uncertainty.Should().Be(SimilarityGraph.Eccentricity(w, 0.5));
    }
}
