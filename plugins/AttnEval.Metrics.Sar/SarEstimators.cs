using AttnEval.Abstractions;
using AttnEval.Plugins.Sdk;

namespace AttnEval.Metrics.Sar;

/// <summary>The <c>token-sar</c> option, declared once (also the last option of the sentence-level estimators).</summary>
internal record TokenSarOptions
{
    [Option(SarEstimatorBase.QuestionPrefixKey, "prefix each compared text with the question, as the SAR repo does (uq-methods §2.1)", Order = 1)]
    public bool QuestionPrefix { get; init; } = true;
}

/// <summary>The <c>sent-sar</c> and <c>sar</c> options, declared once.</summary>
internal sealed record SentenceSarOptions : TokenSarOptions
{
    [Option(SarEstimatorBase.TemperatureKey, "t of E_S = -log(p_j + R_S/t), > 0 (SAR paper; uq-methods §2.2)", Min = 1e-9)]
    public double Temperature { get; init; } = SarMath.DefaultTemperature;

    [Option(SarEstimatorBase.SamplesKey, "use the first K sampled answers (generation.samples); 0 = all (SAR repo: 5 of 10; uq-methods §2.3)", Min = 0)]
    public int NumSamples { get; init; } = SarEstimatorBase.DefaultSamples;
}

/// <summary>Options and text handling shared by the three SAR estimators (specs/uq-methods.md §2.1–§2.3).</summary>
internal abstract class SarEstimatorBase : ISampleEstimatorFactory
{
    /// <summary>Recipe key of t, the sentence-relevance temperature (spec §2.2).</summary>
    public const string TemperatureKey = "temperature";
    /// <summary>Recipe key of K, the number of sampled answers used (spec §2.3).</summary>
    public const string SamplesKey = "num_samples";
    /// <summary>Recipe key of the question prefix switch (spec §2.1: the SAR repo compares <c>question ⊕ generation</c>).</summary>
    public const string QuestionPrefixKey = "question_prefix";

    /// <summary>Default K: the SAR repository uses the first 5 of 10 generations (<c>--num-generation 5</c>, spec §2.3).</summary>
    public const int DefaultSamples = 5;

    /// <inheritdoc />
    public abstract string Name { get; }
    /// <inheritdoc />
    public abstract string Description { get; }
    /// <inheritdoc />
    public MetricKind Kind => MetricKind.SampleEstimator;
    /// <inheritdoc />
    public virtual IReadOnlyList<OptionSpec> Options => OptionBinder.Specs<SentenceSarOptions>();

    /// <inheritdoc />
    public abstract ISampleEstimator Create(OptionValues options);

    /// <summary>The text the similarity model sees: <c>question + " " + answer</c> when <paramref name="prefix"/> is set, else the answer.</summary>
    public static string Compared(string question, string answer, bool prefix) => prefix ? question + " " + answer : answer;

    /// <summary>
    /// Per-token similarities g_i = g(q ⊕ s, q ⊕ s∖z_i) of spec §2.1, removing token i <b>by position</b> (the answer's
    /// token list decoded without entry i, as LM-Polygraph does) rather than by the SAR repo's string <c>replace</c>, which
    /// removes every occurrence of the token's text ([quirk] fixed). Special tokens (BOS, EOS, stop ids) get g = 1, i.e.
    /// relevance 0.
    /// </summary>
    /// <returns>g_i per token, length = number of tokens.</returns>
    public static double[] TokenSimilarities(ITokenizer tokenizer, IReadOnlyList<int> tokens, string question, bool prefix, ISentenceSimilarity similarity)
    {
        var full = Compared(question, tokenizer.Decode(tokens), prefix);
        var g = new double[tokens.Count];
        var compared = new List<int>(tokens.Count);
        var variants = new List<string>(tokens.Count);
        var without = new List<int>(tokens.Count);
        for (int i = 0; i < tokens.Count; i++)
        {
            int id = tokens[i];
            if (id == tokenizer.BosId || id == tokenizer.EosId || tokenizer.StopIds.Contains(id)) { g[i] = 1; continue; }
            without.Clear();
            for (int k = 0; k < tokens.Count; k++) if (k != i) without.Add(tokens[k]);
            compared.Add(i);
            variants.Add(Compared(question, tokenizer.Decode(without), prefix));
        }
        // One call for all variants: a similarity model embeds them in batches (contract 1.3).
        var sims = similarity.Similarities(full, variants);
        for (int j = 0; j < compared.Count; j++) g[compared[j]] = sims[j];
        return g;
    }

    /// <summary>TokenSAR of one generation (spec §2.1) from its teacher-forced-equivalent log-probabilities.</summary>
    public static double TokenSarOf(EstimationContext context, GeneratedSequence generation, bool prefix)
    {
        var similarity = RequireSimilarity(context);
        if (generation.Tokens.Count == 0) throw new InvalidOperationException("TokenSAR: a generation has no tokens");
        var g = TokenSimilarities(context.Model.Tokenizer, generation.Tokens, context.Sample.Input, prefix, similarity);
        return SarMath.TokenSar(generation.Scores.LogProbs, SarMath.TokenRelevances(g));
    }

    /// <summary>The similarity model of the context.</summary>
    /// <exception cref="InvalidOperationException">None was provided.</exception>
    protected static ISentenceSimilarity RequireSimilarity(EstimationContext context) =>
        context.Similarity ?? throw new InvalidOperationException("no sentence-similarity model was provided (install AttnEval.Similarity.MiniLM)");

    /// <summary>The first K sampled answers (all when K = 0).</summary>
    /// <exception cref="InvalidOperationException">The run produced no sampled answers.</exception>
    protected static IReadOnlyList<GeneratedSequence> Samples(EstimationContext context, int k)
    {
        var all = context.SampledAnswers;
        if (all.Count == 0)
            throw new InvalidOperationException("no sampled answers: set generation.samples (SAR uses 5 of 10 at temperature 0.5, uq-methods §2.3)");
        return k == 0 || k >= all.Count ? all : all.Take(k).ToList();
    }

    /// <summary>Sentence-level SAR over the given generations with their log-probabilities (spec §2.2).</summary>
    protected static SampleEstimate SentenceLevel(EstimationContext context, IReadOnlyList<GeneratedSequence> samples, IReadOnlyList<double> logProbs, double t, bool prefix)
    {
        var similarity = RequireSimilarity(context);
        var texts = samples.Select(s => Compared(context.Sample.Input, s.Text, prefix)).ToArray();
        // float rounding can leave a log-probability a hair above 0; the formulas need log p ≤ 0
        var clamped = logProbs.Select(lp => Math.Min(0.0, lp)).ToArray();
        var (score, per) = SarMath.SentenceSar(clamped, (a, b) => similarity.Similarity(texts[a], texts[b]), t);
        return new SampleEstimate(score) { Details = new Dictionary<string, object?> { ["samples"] = samples.Count, ["e_s"] = per } };
    }
}

/// <summary>
/// TokenSAR (spec §2.1): the greedy answer's NLL weighted by each token's relevance, <c>R_T(z_i) = 1 − g(q ⊕ s, q ⊕ s∖z_i)</c>,
/// applied to the judged answer as LM-Polygraph does. Uncertainty in nats (≥ 0); confidence <c>exp(−TokenSAR)</c> ∈ (0, 1],
/// a relevance-weighted geometric-mean token probability. Cost: one similarity per answer token (n + 1 embeddings with a
/// bi-encoder), no model call.
/// </summary>
internal sealed class TokenSarEstimator : SarEstimatorBase
{
    /// <inheritdoc />
    public override string Name => "token-sar";
    /// <inheritdoc />
    public override string Description => "TokenSAR: relevance-weighted answer NLL (Duan et al. ACL 2024; uq-methods §2.1)";
    /// <inheritdoc />
    public override IReadOnlyList<OptionSpec> Options => OptionBinder.Specs<TokenSarOptions>();
    /// <inheritdoc />
    public override ISampleEstimator Create(OptionValues options) => new Estimator(OptionBinder.Bind<TokenSarOptions>(options).QuestionPrefix);

    private sealed class Estimator(bool prefix) : ISampleEstimator
    {
        public MetricNeeds Needs => MetricNeeds.TokenScores | MetricNeeds.SentenceSimilarity;
        public IAttentionRowReducer? CreateReducer(ModelInfo model, int promptLength) => null;
        public SampleEstimate Estimate(EstimationContext context)
        {
            var u = TokenSarOf(context, context.Answer, prefix);
            return new SampleEstimate(u, Math.Exp(-u));
        }
    }
}

/// <summary>A sentence-level SAR estimator: SentSAR or SAR, which differ only in the generation probability p_j (spec §2.2).</summary>
internal abstract class SentenceLevelSarEstimator : SarEstimatorBase
{
    /// <summary>What the estimator needs.</summary>
    protected abstract MetricNeeds Needs { get; }

    /// <summary>log p_j of one sampled generation (≤ 0).</summary>
    protected abstract double LogProbability(EstimationContext context, GeneratedSequence generation, bool prefix);

    /// <inheritdoc />
    public override ISampleEstimator Create(OptionValues options)
    {
        var o = OptionBinder.Bind<SentenceSarOptions>(options);
        return new Estimator(this, o.Temperature, o.NumSamples, o.QuestionPrefix);
    }

    private sealed class Estimator(SentenceLevelSarEstimator owner, double t, int k, bool prefix) : ISampleEstimator
    {
        public MetricNeeds Needs => owner.Needs;
        public IAttentionRowReducer? CreateReducer(ModelInfo model, int promptLength) => null;
        public SampleEstimate Estimate(EstimationContext context)
        {
            var samples = Samples(context, k);
            return SentenceLevel(context, samples, samples.Select(s => owner.LogProbability(context, s, prefix)).ToArray(), t, prefix);
        }
    }
}

/// <summary>
/// SentSAR (spec §2.2): over K sampled answers with full sequence probabilities <c>p_j = exp(Σ_i log p(z_i | …))</c>,
/// the mean of <c>−log(p_j + Σ_{k≠j} g(s_j, s_k) p_k / t)</c>. Uncertainty in nats, unbounded below; no confidence.
/// Cost: K(K−1)/2 similarities, no model call beyond the sampled answers.
/// </summary>
internal sealed class SentSarEstimator : SentenceLevelSarEstimator
{
    /// <inheritdoc />
    public override string Name => "sent-sar";
    /// <inheritdoc />
    public override string Description => "SentSAR: sentence-relevance-shifted entropy over sampled answers (Duan et al. ACL 2024; uq-methods §2.2)";
    /// <inheritdoc />
    protected override MetricNeeds Needs => MetricNeeds.SampledAnswers | MetricNeeds.SentenceSimilarity;
    /// <inheritdoc />
    protected override double LogProbability(EstimationContext context, GeneratedSequence generation, bool prefix) =>
        generation.Scores.LogProbs.Sum(x => (double)x);
}

/// <summary>
/// SAR (spec §2.2, token + sentence): SentSAR with <c>p_j = exp(−TokenSAR(s_j))</c>. Uncertainty in nats, unbounded
/// below; no confidence. Cost: Σ_j n_j + K(K−1)/2 similarities, no model call beyond the sampled answers.
/// </summary>
internal sealed class SarEstimator : SentenceLevelSarEstimator
{
    /// <inheritdoc />
    public override string Name => "sar";
    /// <inheritdoc />
    public override string Description => "SAR: token- and sentence-relevance-shifted entropy over sampled answers (Duan et al. ACL 2024; uq-methods §2.2)";
    /// <inheritdoc />
    protected override MetricNeeds Needs => MetricNeeds.TokenScores | MetricNeeds.SampledAnswers | MetricNeeds.SentenceSimilarity;
    /// <inheritdoc />
    protected override double LogProbability(EstimationContext context, GeneratedSequence generation, bool prefix) =>
        -TokenSarOf(context, generation, prefix);
}
