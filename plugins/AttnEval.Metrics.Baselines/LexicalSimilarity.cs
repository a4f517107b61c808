using AttnEval.Abstractions;

namespace AttnEval.Metrics.Baselines;

/// <summary>
/// Lexical similarity: <c>U = −mean_{i&lt;j} ROUGE-L-F(s_i, s_j)</c> over the K sampled answers (uq-methods.md §3;
/// LM-Polygraph <c>lexical_similarity.py</c> with <c>rougeL</c>); in [−1, 0], no confidence, needs K ≥ 2. A black-box method:
/// no probabilities are read.
/// </summary>
/// <remarks>
/// ROUGE-L here is the contract's <see cref="Rouge.LFMeasure(IReadOnlyList{string}, IReadOnlyList{string})"/>, the one
/// implementation the host's <c>rouge-l</c> judge also uses (Unicode-aware tokens, β = 1). LM-Polygraph's <c>rouge_score</c>
/// applies the Porter stemmer; we do not stem, so "runs" and "run" count as different tokens.
/// </remarks>
internal sealed class LexicalSimilarity : SampledAnswerEstimatorFactory
{
    /// <inheritdoc />
    public override string Name => "lexical-similarity";
    /// <inheritdoc />
    public override string Description => "minus the mean pairwise ROUGE-L F between sampled answers (LM-Polygraph; uq-methods §3)";
    /// <inheritdoc />
    public override IReadOnlyList<OptionSpec> Options => [];

    /// <summary>U = −mean over pairs i &lt; j of ROUGE-L-F(texts[i], texts[j]).</summary>
    /// <param name="texts">K ≥ 2 answers.</param>
    /// <exception cref="ArgumentException">Fewer than 2 answers.</exception>
    public static double Compute(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (texts.Count < 2) throw new ArgumentException($"lexical similarity needs at least 2 answers (got {texts.Count})", nameof(texts));
        var tokens = texts.Select(t => Rouge.Tokens(t)).ToArray();
        double sum = 0;
        var pairs = 0;
        for (var i = 0; i < tokens.Length; i++)
            for (var j = i + 1; j < tokens.Length; j++, pairs++)
                sum += Rouge.LFMeasure(tokens[i], tokens[j]);
        return -sum / pairs;
    }

    /// <inheritdoc />
    public override ISampleEstimator Create(OptionValues options) =>
        new SampledAnswerEstimator(MetricNeeds.None, ctx => new SampleEstimate(Compute(SampledAnswers.Texts(SampledAnswers.Require(ctx, 2, Name)))));
}
