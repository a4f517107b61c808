using AttnEval.Abstractions;
using AttnEval.Plugins.Sdk;

namespace AttnEval.Metrics.AttentionUq;

/// <summary>
/// The four removed 2023 LM-Polygraph prototypes (specs/uq-attention-methods.md §5; in-house experiments of E. Fadeeva,
/// files at <c>9477400d</c>, deleted in <c>faed2a79</c>, no paper): token entropies redistributed (<c>*-entropy</c>) or
/// propagated (<c>*-recursive</c>) through the generation-time attention averaged over all layers and heads, or, for the
/// <c>exp-*</c> variants, through a fixed exponential decay <c>β^{j−k}</c>. The Seq estimators are exposed; the Token
/// values are in each record's details.
/// </summary>
/// <remarks>
/// <para><c>e_i</c> is today's token entropy <c>H_i</c> in nats (<see cref="TokenScores.Entropies"/>; in 2023 it was
/// <c>H_i / V_fin</c>, §5.1). Output: uncertainty in nats within <c>[0, max e]</c>; no confidence. <c>n = 1</c>: <c>e_0</c>.
/// Work is done on copies (no in-place change shared between estimators, §5.2 quirks).</para>
/// <para>Cost: the attention variants keep one <c>n × n</c> mean matrix (<see cref="GeneratedKeysReducer"/>); the
/// exponential variants read no attention. No extra model call.</para>
/// </remarks>
internal abstract class LegacyAttentionEstimatorFactory : ISampleEstimatorFactory
{
    /// <inheritdoc />
    public abstract string Name { get; }
    /// <inheritdoc />
    public abstract string Description { get; }
    /// <inheritdoc />
    public MetricKind Kind => MetricKind.SampleEstimator;

    /// <summary>True for the exponential variants (β^{j−k} instead of attention).</summary>
    protected abstract bool Exponential { get; }

    /// <summary>True for the recursive variants.</summary>
    protected abstract bool Recursive { get; }

    /// <inheritdoc />
    public IReadOnlyList<OptionSpec> Options => Exponential
        ? OptionBinder.Specs<ExpAttentionOptions>()
        : [];

    /// <inheritdoc />
    public ISampleEstimator Create(OptionValues options)
    {
        double? beta = null;
        if (Exponential)
        {
            if (!options.Has("coef")) throw OptionChecks.Bad(Name, "coef", "is required (β of the decay β^(j−k); the prototypes ran 0.9 and 0.8)");
            beta = OptionChecks.Number(options, Name, "coef", null, 0, double.PositiveInfinity, minExclusive: true);
        }
        return new LegacyAttentionEstimator(Name, Recursive, beta);
    }
}

/// <summary><c>attention-entropy</c>: AttentionEntropySeq (spec §5.2).</summary>
internal sealed class AttentionEntropyEstimatorFactory : LegacyAttentionEstimatorFactory
{
    /// <inheritdoc />
    public override string Name => "attention-entropy";
    /// <inheritdoc />
    public override string Description => "AttentionEntropy (2023 LM-Polygraph prototype): token entropies redistributed by mean generation attention (uq-attention-methods §5)";
    /// <inheritdoc />
    protected override bool Exponential => false;
    /// <inheritdoc />
    protected override bool Recursive => false;
}

/// <summary><c>attention-recursive</c>: AttentionRecursiveSeq (spec §5.2).</summary>
internal sealed class AttentionRecursiveEstimatorFactory : LegacyAttentionEstimatorFactory
{
    /// <inheritdoc />
    public override string Name => "attention-recursive";
    /// <inheritdoc />
    public override string Description => "AttentionRecursive (2023 LM-Polygraph prototype): token entropies propagated along mean generation attention (uq-attention-methods §5)";
    /// <inheritdoc />
    protected override bool Exponential => false;
    /// <inheritdoc />
    protected override bool Recursive => true;
}

/// <summary><c>exp-attention-entropy</c>: ExponentialAttentionEntropySeq (spec §5.2).</summary>
internal sealed class ExpAttentionEntropyEstimatorFactory : LegacyAttentionEstimatorFactory
{
    /// <inheritdoc />
    public override string Name => "exp-attention-entropy";
    /// <inheritdoc />
    public override string Description => "ExpAttentionEntropy (2023 LM-Polygraph prototype): token entropies redistributed by a β^(j−k) decay (uq-attention-methods §5)";
    /// <inheritdoc />
    protected override bool Exponential => true;
    /// <inheritdoc />
    protected override bool Recursive => false;
}

/// <summary><c>exp-attention-recursive</c>: ExponentialAttentionRecursiveSeq (spec §5.2).</summary>
internal sealed class ExpAttentionRecursiveEstimatorFactory : LegacyAttentionEstimatorFactory
{
    /// <inheritdoc />
    public override string Name => "exp-attention-recursive";
    /// <inheritdoc />
    public override string Description => "ExpAttentionRecursive (2023 LM-Polygraph prototype): token entropies propagated along a β^(j−k) decay (uq-attention-methods §5)";
    /// <inheritdoc />
    protected override bool Exponential => true;
    /// <inheritdoc />
    protected override bool Recursive => true;
}

/// <summary>One of the four prototypes for one recipe entry (see <see cref="LegacyAttentionEstimatorFactory"/>).</summary>
/// <param name="name">The recipe name (for messages).</param>
/// <param name="recursive">Recursive instead of entropy redistribution.</param>
/// <param name="beta">β for the exponential variants, null for the attention variants.</param>
internal sealed class LegacyAttentionEstimator(string name, bool recursive, double? beta) : ISampleEstimator
{
    /// <inheritdoc />
    public MetricNeeds Needs => beta is null ? MetricNeeds.TokenScores | MetricNeeds.AttentionRows : MetricNeeds.TokenScores;

    /// <inheritdoc />
    public IAttentionRowReducer? CreateReducer(ModelInfo model, int promptLength) =>
        beta is null ? new GeneratedKeysReducer(promptLength, HeadCombination.Mean) : null;

    /// <inheritdoc />
    public SampleEstimate Estimate(EstimationContext context)
    {
        var scores = context.Answer.Scores;
        int n = scores.Tokens.Count;
        if (n == 0) throw new InvalidOperationException($"{name}: the answer has no tokens");
        var e = scores.Entropies.Select(x => (double)x).ToArray();
        if (e.Length != n || e.Any(x => !double.IsFinite(x))) throw new InvalidOperationException($"{name}: the answer's token entropies are missing or not finite");

        double[][] normalised;
        if (beta is { } b) normalised = LegacyAttentionMath.ExponentialRows(n, b);
        else
        {
            var reducer = context.Reducer as GeneratedKeysReducer
                          ?? throw new InvalidOperationException($"{name}: no attention rows were captured for this answer (the backend must support attention capture)");
            int prompt = context.PromptTokens.Count, expected = context.Model.Info.Layers * context.Model.Info.Heads;
            if (reducer.PromptLength != prompt) throw new InvalidOperationException($"{name}: the reducer was made for a prompt of {reducer.PromptLength} tokens, the answer follows {prompt}");
            var rows = new double[n][];
            rows[0] = [];
            for (int j = 1; j < n; j++)
            {
                rows[j] = reducer.Row(j) ?? throw new InvalidOperationException($"{name}: the attention rows of decode step {j} (query position {prompt + j - 1}) were not delivered");
                if (reducer.Contributions(j) != expected)
                    throw new InvalidOperationException($"{name}: decode step {j} delivered {reducer.Contributions(j)} (layer, head) rows, expected L·H = {expected}");
            }
            try { normalised = LegacyAttentionMath.Normalise(rows); }
            catch (ArgumentException ex) { throw new InvalidOperationException($"{name}: {ex.Message}"); }
        }

        var result = recursive ? LegacyAttentionMath.Recursive(normalised, e) : LegacyAttentionMath.Entropy(normalised, e);
        var details = new Dictionary<string, object?>
        {
            ["token"] = result.Tokens.ToArray(),
            [recursive ? "u" : "kappa"] = result.Weights.ToArray(),
        };
        if (beta is { } coef) details["coef"] = coef;
        return new SampleEstimate(result.Sequence) { Details = details };
    }
}
