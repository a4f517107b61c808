using AttnEval.Abstractions;
using AttnEval.Plugins.Sdk;

namespace AttnEval.Metrics.AttentionUq;

/// <summary>
/// Attention Score, the attention log-determinant of LLM-Check (Sriramanan et al., "LLM-Check: investigating detection of
/// hallucinations in large language models", NeurIPS 2024) in LM-Polygraph's form (<c>estimators/attention_score.py</c>,
/// <c>stat_calculators/attention_forward_pass.py</c> at <c>efea882d</c>), specs/uq-attention-methods.md §2:
/// <c>AS = −(1/H) Σ_h Σ_{t∈𝒯} ln(A^{l*,h}[t, t] + 1e−12)</c>.
/// </summary>
/// <remarks>
/// <para>Default mode: 𝒯 = every position of prompt + answer (<c>0 … T−1</c>, EOS included), read from one teacher-forced
/// <c>Score</c> pass over <c>prompt ⊕ y</c> in which only layer <c>l*</c> is eager (the generation never computes the
/// last position's row, §2.5); this is the pass LM-Polygraph itself runs. <c>gen_only</c>: 𝒯 = <c>P … T−2</c>, the
/// answer positions but the last, read from the generation's own rows (no extra call).</para>
/// <para>Output: uncertainty ≥ 0 (a sum over positions: it grows with length and, in the default mode, with the prompt).
/// No confidence. <c>n = 1</c> with <c>gen_only</c>: 0.</para>
/// <para>Errors (this sample only): <c>layer</c> outside the model, rows not delivered, a backend without attention capture.</para>
/// </remarks>
internal sealed class AttentionScoreEstimatorFactory : ISampleEstimatorFactory
{
    /// <summary>Recipe name.</summary>
    public const string MetricName = "attention-score";

    /// <inheritdoc />
    public string Name => MetricName;
    /// <inheritdoc />
    public string Description => "Attention Score: negated sum of log self-attention of one layer, mean over heads (LLM-Check, Sriramanan et al. NeurIPS 2024; uq-attention-methods §2)";
    /// <inheritdoc />
    public MetricKind Kind => MetricKind.SampleEstimator;

    /// <inheritdoc />
    public IReadOnlyList<OptionSpec> Options => OptionBinder.Specs<AttentionScoreOptions>();

    /// <inheritdoc />
    public ISampleEstimator Create(OptionValues options) =>
        new AttentionScoreEstimator(OptionChecks.Integer(options, MetricName, "layer", 0), OptionChecks.Boolean(options, MetricName, "gen_only", AttentionScoreOptions.Defaults.GenOnly));
}

/// <summary>The Attention Score estimator of one recipe entry (see <see cref="AttentionScoreEstimatorFactory"/>).</summary>
/// <param name="layer">l*, or null for ⌊L/2⌋.</param>
/// <param name="genOnly">Sum over the generation rows <c>P … T−2</c> only.</param>
internal sealed class AttentionScoreEstimator(int? layer, bool genOnly) : ISampleEstimator
{
    private const string Name = AttentionScoreEstimatorFactory.MetricName;

    /// <summary>The guard LM-Polygraph adds inside the log.</summary>
    public const double Epsilon = 1e-12;

    /// <summary>l* for a model of <paramref name="modelLayers"/> layers.</summary>
    public int LayerFor(int modelLayers) => layer ?? modelLayers / 2;

    /// <inheritdoc />
    public MetricNeeds Needs => genOnly ? MetricNeeds.AttentionRows : MetricNeeds.ModelCalls;

    /// <inheritdoc />
    public IAttentionRowReducer? CreateReducer(ModelInfo model, int promptLength)
    {
        if (!genOnly) return null;
        int l = LayerFor(model.Layers);
        return new SelfWeightReducer([l < model.Layers ? l : 0], promptLength) { Problem = LayerProblem(l, model.Layers) };
    }

    /// <summary>AS from per-head self-weights: <c>−(1/H) Σ_h Σ_t ln(d[h][t] + 1e−12)</c> (spec §2.2).</summary>
    /// <param name="diagonals"><c>[H][|𝒯|]</c> self-weights in [0, 1].</param>
    public static double Score(IReadOnlyList<IReadOnlyList<double>> diagonals)
    {
        if (diagonals.Count == 0) throw new ArgumentException("at least one head is needed", nameof(diagonals));
        double sum = 0;
        foreach (var head in diagonals)
            foreach (var d in head) sum += Math.Log(d + Epsilon);
        return -sum / diagonals.Count;
    }

    /// <inheritdoc />
    public SampleEstimate Estimate(EstimationContext context)
    {
        var info = context.Model.Info;
        var tokens = context.Answer.Tokens;
        int n = tokens.Count, p = context.PromptTokens.Count, t = p + n;
        if (n == 0) throw new InvalidOperationException($"{Name}: the answer has no tokens");
        int l = LayerFor(info.Layers);

        SelfWeightReducer reducer;
        int from, to;   // positions [from, to)
        if (genOnly)
        {
            reducer = context.Reducer as SelfWeightReducer
                      ?? throw new InvalidOperationException($"{Name}: no attention rows were captured for this answer (the backend must support attention capture)");
            if (reducer.Problem is { } problem) throw new InvalidOperationException(problem);
            if (reducer.FromPosition != p) throw new InvalidOperationException($"{Name}: the reducer was made for a prompt of {reducer.FromPosition} tokens, the answer follows {p}");
            (from, to) = (p, t - 1);
        }
        else
        {
            if (LayerProblem(l, info.Layers) is { } problem) throw new InvalidOperationException(problem);
            if (!context.Model.SupportsAttentionCapture)
                throw new InvalidOperationException($"{Name}: the model delivers no attention rows (its backend has no attention capture)");
            reducer = new SelfWeightReducer([l], 0);
            context.Model.Score(new ScoreRequest { Tokens = context.PromptTokens.Concat(tokens).ToArray(), From = t, Captures = [reducer] });
            (from, to) = (0, t);
        }

        int heads = Math.Max(1, info.Heads);
        var d = new double[heads][];
        for (int h = 0; h < heads; h++) d[h] = new double[Math.Max(0, to - from)];
        for (int pos = from; pos < to; pos++)
        {
            var w = reducer.SelfWeights(l, pos)
                    ?? throw new InvalidOperationException($"{Name}: the attention row of query position {pos} of layer {l} was not delivered");
            if (w.Length != heads) throw new InvalidOperationException($"{Name}: layer {l} delivered {w.Length} heads, the model has {heads}");
            for (int h = 0; h < heads; h++) d[h][pos - from] = w[h];
        }
        var score = Score(d);
        return new SampleEstimate(score)
        {
            Details = new Dictionary<string, object?>
            {
                ["layer"] = l,
                ["mode"] = genOnly ? "gen_only" : "full",
                ["positions"] = Math.Max(0, to - from),
            },
        };
    }

    private static string? LayerProblem(int l, int modelLayers) => l < modelLayers ? null :
        $"metrics.{Name}.layer: layer {l} is outside the model's {modelLayers} layers (0…{modelLayers - 1})";
}
