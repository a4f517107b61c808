using System.Text;
using AttnEval.Abstractions;

namespace AttnEval.Metrics.Baselines;

/// <summary>
/// Lexical similarity: <c>U = −mean_{i&lt;j} ROUGE-L-F(s_i, s_j)</c> over the K sampled answers (uq-methods.md §3;
/// LM-Polygraph <c>lexical_similarity.py</c> with <c>rougeL</c>); in [−1, 0], no confidence, needs K ≥ 2. A black-box method:
/// no probabilities are read.
/// </summary>
/// <remarks>
/// ROUGE-L here is <see cref="RougeL.FMeasure(string, string)"/>: the same definition as the host's <c>rouge-l</c> judge (LCS of lower-cased
/// letter/digit tokens, β = 1), written again in this plugin because plugins reference only the contract, not
/// <c>AttnEval.Core</c>. LM-Polygraph's <c>rouge_score</c> applies the Porter stemmer; we do not stem (no stemmer in the
/// .NET base library), so "runs" and "run" count as different tokens.
/// </remarks>
public sealed class LexicalSimilarity : SampledAnswerEstimatorFactory
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
        var tokens = texts.Select(RougeL.Tokens).ToArray();
        double sum = 0;
        var pairs = 0;
        for (var i = 0; i < tokens.Length; i++)
            for (var j = i + 1; j < tokens.Length; j++, pairs++)
                sum += RougeL.FMeasure(tokens[i], tokens[j]);
        return -sum / pairs;
    }

    /// <inheritdoc />
    public override ISampleEstimator Create(OptionValues options) =>
        new SampledAnswerEstimator(MetricNeeds.None, ctx => new SampleEstimate(Compute(SampledAnswers.Texts(SampledAnswers.Require(ctx, 2, Name)))));
}

/// <summary>ROUGE-L F-measure (Lin 2004, β = 1) on lower-cased tokens made of letters and digits (every other character separates tokens).</summary>
public static class RougeL
{
    /// <summary>The ROUGE tokens of a text.</summary>
    public static string[] Tokens(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sb = new StringBuilder(text.Length);
        foreach (var ch in text) sb.Append(char.IsLetterOrDigit(ch) ? char.ToLowerInvariant(ch) : ' ');
        return sb.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>F = 2PR/(P+R) with P = LCS/|a|, R = LCS/|b|; 0 when either side is empty or nothing is shared. Symmetric, in [0, 1].</summary>
    public static double FMeasure(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Count == 0 || b.Count == 0) return 0;
        // Longest common subsequence, one row of the DP table at a time.
        var row = new int[b.Count + 1];
        for (var i = 0; i < a.Count; i++)
        {
            var diag = 0;
            for (var j = 1; j <= b.Count; j++)
            {
                var up = row[j];
                row[j] = string.Equals(a[i], b[j - 1], StringComparison.Ordinal) ? diag + 1 : Math.Max(up, row[j - 1]);
                diag = up;
            }
        }
        var lcs = row[b.Count];
        if (lcs == 0) return 0;
        double p = (double)lcs / a.Count, r = (double)lcs / b.Count;
        return 2 * p * r / (p + r);
    }

    /// <summary>ROUGE-L F of two texts.</summary>
    public static double FMeasure(string a, string b) => FMeasure(Tokens(a), Tokens(b));
}
