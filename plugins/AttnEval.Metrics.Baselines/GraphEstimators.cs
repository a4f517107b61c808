using AttnEval.Abstractions;
using AttnEval.Plugins.Sdk;
using MathNet.Numerics.LinearAlgebra;

namespace AttnEval.Metrics.Baselines;

/// <summary>
/// The similarity-graph uncertainties of Lin, Trivedi and Sun (2023, "Generating with Confidence"; uq-methods.md §3 table):
/// a weighted graph over the K sampled answers with similarity matrix W, its degree matrix <c>D = diag(W·1)</c> and
/// normalised Laplacian <c>L = I − D^{−1/2} W D^{−1/2}</c>. The symmetric eigendecomposition is MathNet.Numerics'.
/// </summary>
/// <remarks>
/// <para><b>W</b> (option <c>similarity</c>): <c>jaccard</c> (default) — Jaccard similarity of the lower-cased whitespace token
/// sets (two empty answers: 1), the black-box choice of the spec; or <c>sentence</c> — the run's
/// <see cref="ISentenceSimilarity"/> (e.g. MiniLM cosine) with negative values clipped to 0 so that W is a valid
/// affinity. The papers use NLI entailment probabilities, which AttnEval does not ship offline. W is symmetrised,
/// <c>W ← (W + Wᵀ)/2</c>, and <b><c>W_ii = 1</c></b> as in Lin's code (LM-Polygraph leaves the NLI self-score on the
/// diagonal); with Jaccard and cosine the self-similarity is 1 anyway, so the choice only matters for a similarity model
/// whose self-score is not 1.</para>
/// <para>Jaccard is the default because it is deterministic, free and needs no plugin; on short formulaic answers
/// (arithmetic) it separates agreeing from disagreeing samples as well as an embedding does.</para>
/// </remarks>
internal static class SimilarityGraph
{
    /// <summary>Recipe values of the <c>similarity</c> option (declared on its option).</summary>
    public static IReadOnlyList<string> Kinds { get; } = OptionBinder.Specs<GraphOptions>().Single(o => o.Key == "similarity").AllowedValues!;

    /// <summary>Lin's default eigenvalue threshold of <see cref="Eccentricity"/>, 0.9.</summary>
    public const double DefaultEigvThreshold = 0.9;

    /// <summary>Jaccard similarity of the lower-cased whitespace token sets, in [0, 1]; 1 for two empty texts.</summary>
    public static double Jaccard(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var sa = a.ToLowerInvariant().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        var sb = b.ToLowerInvariant().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        if (sa.Count == 0 && sb.Count == 0) return 1;
        var inter = sa.Count(sb.Contains);
        return (double)inter / (sa.Count + sb.Count - inter);
    }

    /// <summary>The K×K matrix W of the remarks (symmetric, non-negative, unit diagonal).</summary>
    /// <param name="texts">K ≥ 1 answers.</param>
    /// <param name="kind">One of <see cref="Kinds"/>.</param>
    /// <param name="similarity">Required for <c>sentence</c>.</param>
    /// <exception cref="ArgumentException">An unknown kind.</exception>
    /// <exception cref="InvalidOperationException"><c>sentence</c> without a similarity model, or a non-finite similarity.</exception>
    public static double[,] Matrix(IReadOnlyList<string> texts, string kind, ISentenceSimilarity? similarity = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        Func<string, string, double> f = kind switch
        {
            "jaccard" => Jaccard,
            "sentence" => similarity is null
                ? throw new InvalidOperationException("similarity: sentence needs a sentence-similarity model, but the run has none (install a similarity plugin, or use similarity: jaccard)")
                : (x, y) => similarity.Similarity(x, y),
            _ => throw new ArgumentException($"similarity '{kind}' is unknown; expected one of {string.Join(", ", Kinds)}", nameof(kind)),
        };
        var k = texts.Count;
        var w = new double[k, k];
        for (var i = 0; i < k; i++)
        {
            w[i, i] = 1;
            for (var j = i + 1; j < k; j++)
            {
                double a = f(texts[i], texts[j]), b = f(texts[j], texts[i]);
                if (!double.IsFinite(a) || !double.IsFinite(b)) throw new InvalidOperationException($"similarity of sampled answers {i} and {j} is not finite");
                w[i, j] = w[j, i] = Math.Max(0, (a + b) / 2);
            }
        }
        return w;
    }

    /// <summary>Normalised Laplacian <c>I − D^{−1/2} W D^{−1/2}</c> of a symmetrised W.</summary>
    /// <exception cref="ArgumentException">W is not square, has a negative or non-finite entry, or a node of zero degree.</exception>
    public static Matrix<double> Laplacian(double[,] w)
    {
        ArgumentNullException.ThrowIfNull(w);
        var k = w.GetLength(0);
        if (k == 0 || w.GetLength(1) != k) throw new ArgumentException($"W must be a non-empty square matrix (got {w.GetLength(0)}×{w.GetLength(1)})", nameof(w));
        var sym = Matrix<double>.Build.Dense(k, k, (i, j) => (w[i, j] + w[j, i]) / 2);
        if (sym.Enumerate().Any(x => !(x >= 0) || !double.IsFinite(x))) throw new ArgumentException("W must have finite, non-negative entries", nameof(w));
        var d = sym.RowSums();
        if (d.Any(x => x <= 0)) throw new ArgumentException("every node of W needs a positive degree", nameof(w));
        var s = d.Map(x => 1 / Math.Sqrt(x));
        return Matrix<double>.Build.DenseIdentity(k) - Matrix<double>.Build.Dense(k, k, (i, j) => s[i] * sym[i, j] * s[j]);
    }

    /// <summary>Eigenvalues (ascending) and matching orthonormal eigenvectors (columns) of the normalised Laplacian.</summary>
    public static (double[] Values, Matrix<double> Vectors) Spectrum(double[,] w)
    {
        var evd = Laplacian(w).Evd(Symmetricity.Symmetric);
        var values = evd.EigenValues.Select(c => c.Real).ToArray();
        var order = Enumerable.Range(0, values.Length).OrderBy(i => values[i]).ToArray();
        var vectors = Matrix<double>.Build.Dense(values.Length, values.Length, (i, j) => evd.EigenVectors[i, order[j]]);
        return (order.Select(i => values[i]).ToArray(), vectors);
    }

    /// <summary>EigV: <c>U = Σ_k max(0, 1 − λ_k(L))</c>, a soft count of meaning clusters, in [1, K] (LM-Polygraph
    /// <c>eig_val_laplacian.py</c>; Lin et al. §4). TV-8: 1.745421.</summary>
    public static double EigV(double[,] w) => Spectrum(w).Values.Sum(l => Math.Max(0, 1 - l));

    /// <summary>Degree: <c>U = 1 − Σ_ij W_ij / K²</c> = trace(K·I − D)/K², in [0, 1) (LM-Polygraph <c>deg_mat.py</c>; Lin's code returns
    /// K times this, which ranks the same). W is symmetrised first. TV-8: 0.4.</summary>
    public static double Degree(double[,] w)
    {
        ArgumentNullException.ThrowIfNull(w);
        var k = w.GetLength(0);
        if (k == 0 || w.GetLength(1) != k) throw new ArgumentException("W must be a non-empty square matrix", nameof(w));
        double sum = 0;
        foreach (var x in w) sum += x;
        return 1 - sum / ((double)k * k);
    }

    /// <summary>
    /// Eccentricity: embed answer i as row i of the eigenvectors of L whose eigenvalue is below <paramref name="threshold"/>;
    /// <c>U = ‖(d_1 … d_K)‖₂</c> with d_i the distance of row i to the rows' centroid (the Frobenius norm of the column-centred
    /// eigenvector matrix; LM-Polygraph <c>eccentricity.py</c>, Lin's <c>eigv_threshold</c> 0.9). Independent of the eigenvectors'
    /// signs and of the basis chosen inside a repeated eigenvalue. 0 when no eigenvalue is below the threshold. TV-8: 1.000148.
    /// </summary>
    public static double Eccentricity(double[,] w, double threshold = DefaultEigvThreshold)
    {
        var (values, vectors) = Spectrum(w);
        var k = values.Length;
        double total = 0;
        for (var j = 0; j < k; j++)
        {
            if (!(values[j] < threshold)) continue;
            var col = vectors.Column(j);
            var mean = col.Average();
            total += col.Sum(x => (x - mean) * (x - mean));
        }
        return Math.Sqrt(total);
    }
}

/// <summary>Factory of the three graph estimators (<c>eigv</c>, <c>degree</c>, <c>eccentricity</c>) over K ≥ 2 sampled answers; no confidence.</summary>
internal abstract class GraphEstimatorFactory : SampledAnswerEstimatorFactory
{
    /// <inheritdoc />
    public override IReadOnlyList<OptionSpec> Options => OptionBinder.Specs<GraphOptions>();

    /// <summary>The uncertainty from W and the validated options.</summary>
    protected abstract double Compute(double[,] w, OptionValues options);

    /// <inheritdoc />
    public override ISampleEstimator Create(OptionValues options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var kind = OptionBinder.Bind<GraphOptions>(options).Similarity;
        if (!SimilarityGraph.Kinds.Contains(kind)) throw new ArgumentException($"{Name}: similarity '{kind}' is unknown; expected one of {string.Join(", ", SimilarityGraph.Kinds)}", nameof(options));
        return new SampledAnswerEstimator(kind == "sentence" ? MetricNeeds.SentenceSimilarity : MetricNeeds.None, ctx =>
            new SampleEstimate(Compute(SimilarityGraph.Matrix(SampledAnswers.Texts(SampledAnswers.Require(ctx, 2, Name)), kind, ctx.Similarity), options)));
    }
}

/// <summary>EigV (<see cref="SimilarityGraph.EigV"/>) as a recipe metric.</summary>
internal sealed class EigVEstimator : GraphEstimatorFactory
{
    /// <inheritdoc />
    public override string Name => "eigv";
    /// <inheritdoc />
    public override string Description => "sum of max(0, 1 - eigenvalue) of the normalised Laplacian of the sampled answers' similarity graph (Lin et al. 2023; uq-methods §3)";
    /// <inheritdoc />
    protected override double Compute(double[,] w, OptionValues options) => SimilarityGraph.EigV(w);
}

/// <summary>Degree (<see cref="SimilarityGraph.Degree"/>) as a recipe metric.</summary>
internal sealed class DegreeEstimator : GraphEstimatorFactory
{
    /// <inheritdoc />
    public override string Name => "degree";
    /// <inheritdoc />
    public override string Description => "1 - mean similarity of the sampled answers' graph, trace(K I - D)/K^2 (Lin et al. 2023; uq-methods §3)";
    /// <inheritdoc />
    protected override double Compute(double[,] w, OptionValues options) => SimilarityGraph.Degree(w);
}

/// <summary>Eccentricity (<see cref="SimilarityGraph.Eccentricity"/>) as a recipe metric; option <c>eigv_threshold</c> (default 0.9).</summary>
internal sealed class EccentricityEstimator : GraphEstimatorFactory
{
    /// <inheritdoc />
    public override string Name => "eccentricity";
    /// <inheritdoc />
    public override string Description => "spread of the sampled answers in the Laplacian's spectral embedding (Lin et al. 2023; uq-methods §3)";
    /// <inheritdoc />
    public override IReadOnlyList<OptionSpec> Options => OptionBinder.Specs<EccentricityOptions>();
    /// <inheritdoc />
    protected override double Compute(double[,] w, OptionValues options) => SimilarityGraph.Eccentricity(w, OptionBinder.Bind<EccentricityOptions>(options).EigvThreshold);
}

/// <summary>The <c>similarity</c> option of the graph estimators, declared once.</summary>
internal record GraphOptions
{
    [Option("similarity", "Similarity matrix W of the sampled answers: jaccard (word sets) or sentence (the run's ISentenceSimilarity, negatives clipped to 0). W_ii = 1.",
        Allowed = ["jaccard", "sentence"])]
    public string Similarity { get; init; } = "jaccard";
}

/// <summary>The <c>eccentricity</c> options, declared once.</summary>
internal sealed record EccentricityOptions : GraphOptions
{
    [Option("eigv_threshold", "Keep the Laplacian's eigenvectors with eigenvalue below this (Lin's default 0.9; uq-methods §3).", Min = 0, Max = 2)]
    public double EigvThreshold { get; init; } = SimilarityGraph.DefaultEigvThreshold;
}
