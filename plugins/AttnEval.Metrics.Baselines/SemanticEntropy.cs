using AttnEval.Abstractions;
using AttnEval.Plugins.Sdk;

namespace AttnEval.Metrics.Baselines;

/// <summary>
/// Semantic entropy (Kuhn et al., ICLR 2023; Farquhar et al., Nature 2024): the entropy of the model's distribution over
/// meaning classes of K sampled answers (uq-methods.md §3), with the classes from <see cref="AnswerEquivalence"/>. Uncertainty in
/// nats; no confidence.
/// </summary>
/// <remarks>
/// <para>Variants (option <c>variant</c>), with Λ_k the sequence log-prob and T_k the length of sample k
/// (<see cref="SampledAnswers"/>):</para>
/// <list type="bullet">
/// <item><c>farquhar</c> (default): <c>p(c) ∝ Σ_{k∈c} exp(Λ_k/T_k)</c>, normalised over the classes;
/// <c>SE = −Σ_c p(c) log p(c)</c> (<c>jlko/semantic_uncertainty</c>: length-normalised, <c>sum_normalized</c>,
/// <c>predictive_entropy_rao</c>). TV-7: 0.545460.</item>
/// <item><c>polygraph-mean</c>: <c>log p̃(c) = min(0, logsumexp_{k∈c} Λ_k)</c> (not normalised, full length, capped so a
/// class mass never exceeds 1); <c>SE = −(1/K) Σ_k log p̃(c(k))</c> (LM-Polygraph <c>semantic_entropy.py</c> default).
/// TV-7: 1.038608.</item>
/// <item><c>polygraph-direct</c>: <c>SE = −Σ_k p̃(c(k)) log p̃(c(k))</c> with the same p̃. TV-7: 0.935045.</item>
/// <item><c>kuhn-2023</c>: <c>v_c = logsumexp_{k∈c}(Λ_k/T_k) − 5</c>, <c>SE = −(1/|C|) Σ_c v_c</c> (the SAR repository's
/// copy of Kuhn et al.'s code; the shift 5 is kept so values match it, it does not change rankings).</item>
/// </list>
/// <para>The default is <c>farquhar</c> because it is the only variant that is the entropy of a probability
/// distribution over classes (bounded by log |C|, 0 when all samples agree): LM-Polygraph's p̃ is not normalised and
/// sums duplicate samples, so its "probabilities" can exceed 1 and the entropy go negative (LM-Polygraph issues
/// #223/#428), and the 2023 code averages over classes rather than weighting by probability. The others are there for
/// parity runs.</para>
/// <para><b>Duplicates.</b> Sampling at temperature 1 often returns the same text several times; summing the sequence
/// probability of each copy counts one sequence's probability several times. Option <c>unique_responses</c> (LM-Polygraph's
/// <c>use_unique_responses</c>; default false, as there) keeps only the first of identical texts (ordinal comparison) before
/// clustering, so the class mass of the polygraph variants is a sum of probabilities of distinct sequences (≤ 1). Whatever
/// the option, a polygraph class mass is capped at 1 (<c>log p̃ ≤ 0</c>), so those variants are never negative. Each
/// sample's <c>details</c> record <c>variant</c>, <c>unique_responses</c> and <c>n_unique</c>, and <c>summary.json</c>
/// records every metric's options.</para>
/// <para>Cost: no extra model call beyond the K samples the runner draws once for all sample-based estimators; with
/// <c>equivalence: similarity</c>, up to K·|C|·2 similarity calls per prompt.</para>
/// </remarks>
internal sealed class SemanticEntropy : SampledAnswerEstimatorFactory
{
    /// <summary>Recipe values of <c>variant</c>.</summary>
    public static IReadOnlyList<string> Variants { get; } = OptionBinder.Specs<SemanticEntropyOptions>().Single(o => o.Key == "variant").AllowedValues!;

    /// <summary>The constant the 2023 code subtracts from each class log-likelihood (<c>llh_shift</c>).</summary>
    public const double Kuhn2023Shift = 5.0;

    /// <inheritdoc />
    public override string Name => "semantic-entropy";
    /// <inheritdoc />
    public override string Description => "semantic entropy over meaning classes of sampled answers (Farquhar et al. 2024 by default; uq-methods §3)";
    /// <inheritdoc />
    public override IReadOnlyList<OptionSpec> Options => OptionBinder.Specs<SemanticEntropyOptions>();

    /// <summary>Semantic entropy of one prompt.</summary>
    /// <param name="variant">One of <see cref="Variants"/>.</param>
    /// <param name="logProbs">Λ_k, K ≥ 1 values, nats.</param>
    /// <param name="lengths">T_k ≥ 1 (used by the length-normalised variants).</param>
    /// <param name="classes">Class id of each sample (any integers; equal = same meaning).</param>
    /// <returns>SE in nats; ≥ 0 for farquhar and the polygraph variants (their class masses are capped at 1).</returns>
    /// <exception cref="ArgumentException">An unknown variant, empty or different-length inputs, or a length below 1.</exception>
    public static double Compute(string variant, IReadOnlyList<double> logProbs, IReadOnlyList<int> lengths, IReadOnlyList<int> classes)
    {
        ArgumentNullException.ThrowIfNull(logProbs);
        ArgumentNullException.ThrowIfNull(lengths);
        ArgumentNullException.ThrowIfNull(classes);
        var k = logProbs.Count;
        if (k == 0 || lengths.Count != k || classes.Count != k)
            throw new ArgumentException($"need K ≥ 1 samples with a length and a class each (got {k}, {lengths.Count}, {classes.Count})", nameof(classes));
        if (lengths.Any(t => t < 1)) throw new ArgumentException("every sample length must be ≥ 1", nameof(lengths));
        var groups = Enumerable.Range(0, k).GroupBy(i => classes[i]).Select(g => g.ToArray()).ToArray();
        switch (variant)
        {
            case "farquhar":
            {
                var logClass = groups.Select(g => SampledAnswers.LogSumExp(g.Select(i => logProbs[i] / lengths[i]))).ToArray();
                var total = SampledAnswers.LogSumExp(logClass);
                return -logClass.Sum(lc => Math.Exp(lc - total) * (lc - total));
            }
            case "polygraph-mean":
            case "polygraph-direct":
            {
                var logP = new double[k];
                foreach (var g in groups)
                {
                    // A class mass is a probability: never above 1, even when duplicate samples are summed.
                    var lc = Math.Min(0, SampledAnswers.LogSumExp(g.Select(i => logProbs[i])));
                    foreach (var i in g) logP[i] = lc;
                }
                return variant == "polygraph-mean" ? -logP.Average() : -logP.Sum(lp => Math.Exp(lp) * lp);
            }
            case "kuhn-2023":
                return -groups.Average(g => SampledAnswers.LogSumExp(g.Select(i => logProbs[i] / lengths[i])) - Kuhn2023Shift);
            default:
                throw new ArgumentException($"semantic-entropy variant '{variant}' is unknown; expected one of {string.Join(", ", Variants)}", nameof(variant));
        }
    }

    /// <inheritdoc />
    public override ISampleEstimator Create(OptionValues options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var o = OptionBinder.Bind<SemanticEntropyOptions>(options);
        var variant = o.Variant;
        if (!Variants.Contains(variant)) throw new ArgumentException($"semantic-entropy: variant '{variant}' is unknown; expected one of {string.Join(", ", Variants)}", nameof(options));
        var eq = o.ToEquivalence();
        var eos = o.IncludeEos;
        var unique = o.UniqueResponses;
        return new SampledAnswerEstimator(eq.Needs, ctx =>
        {
            IReadOnlyList<GeneratedSequence> samples = SampledAnswers.Require(ctx, 1, Name);
            var drawn = samples.Count;
            if (unique) samples = samples.DistinctBy(s => s.Text, StringComparer.Ordinal).ToList();
            var (lam, len) = SampledAnswers.SequenceLogProbs(samples, eos);
            var classes = eq.Cluster(SampledAnswers.Texts(samples), ctx.Similarity);
            return new SampleEstimate(Compute(variant, lam, len, classes))
            {
                Details = new Dictionary<string, object?>
                {
                    ["classes"] = classes, ["n_classes"] = classes.Distinct().Count(), ["variant"] = variant,
                    ["unique_responses"] = unique, ["n_unique"] = unique ? samples.Count : samples.Select(s => s.Text).Distinct(StringComparer.Ordinal).Count(),
                    ["n_samples"] = drawn,
                },
            };
        });
    }
}

/// <summary>
/// Discrete semantic entropy: <c>U = −Σ_c (n_c/K) log(n_c/K)</c> over the meaning classes of K sampled answers (uq-methods.md §3,
/// Farquhar et al.'s <c>cluster_assignment_entropy</c>); needs no probabilities, so it also works for black-box models. Nats,
/// in [0, log K]; no confidence. Classes from <see cref="AnswerEquivalence"/>. TV-7 (counts 3/1): 0.562335.
/// </summary>
internal sealed class DiscreteSemanticEntropy : SampledAnswerEstimatorFactory
{
    /// <inheritdoc />
    public override string Name => "discrete-semantic-entropy";
    /// <inheritdoc />
    public override string Description => "entropy of the meaning-class frequencies of sampled answers, nats (Farquhar et al. 2024; uq-methods §3)";
    /// <inheritdoc />
    public override IReadOnlyList<OptionSpec> Options => OptionBinder.Specs<EquivalenceOptions>();

    /// <summary>U = −Σ_c (n_c/K) log(n_c/K).</summary>
    /// <param name="classes">Class id of each of K ≥ 1 samples.</param>
    /// <exception cref="ArgumentException">No samples.</exception>
    public static double Compute(IReadOnlyList<int> classes)
    {
        ArgumentNullException.ThrowIfNull(classes);
        if (classes.Count == 0) throw new ArgumentException("discrete semantic entropy needs at least one sample", nameof(classes));
        double k = classes.Count;
        return -classes.GroupBy(c => c).Sum(g => g.Count() / k * Math.Log(g.Count() / k));
    }

    /// <inheritdoc />
    public override ISampleEstimator Create(OptionValues options)
    {
        var eq = AnswerEquivalence.FromOptions(options);
        return new SampledAnswerEstimator(eq.Needs, ctx =>
        {
            var classes = eq.Cluster(SampledAnswers.Texts(SampledAnswers.Require(ctx, 1, Name)), ctx.Similarity);
            return new SampleEstimate(Compute(classes))
            {
                Details = new Dictionary<string, object?> { ["classes"] = classes, ["n_classes"] = classes.Distinct().Count() },
            };
        });
    }
}

/// <summary>The <c>semantic-entropy</c> options, declared once: its own two, the equivalence rule's, then <c>include_eos</c>.</summary>
internal sealed record SemanticEntropyOptions : EquivalenceOptions
{
    [Option("variant", "farquhar (length-normalised, normalised over classes), polygraph-mean, polygraph-direct, or kuhn-2023 (uq-methods §3 table).",
        Allowed = ["farquhar", "polygraph-mean", "polygraph-direct", "kuhn-2023"], Order = -1)]
    public string Variant { get; init; } = "farquhar";

    [Option("unique_responses", "Keep only the first of identical sampled texts before computing class masses (LM-Polygraph use_unique_responses).", Order = -1)]
    public bool UniqueResponses { get; init; }

    [Option("include_eos", SampledAnswers.IncludeEosDescription, Order = 1)]
    public bool IncludeEos { get; init; } = SampledAnswers.DefaultIncludeEos;
}
