using AttnEval.Abstractions;
using AttnEval.Plugins.Sdk;

namespace AttnEval.Metrics.AttentionUq;

/// <summary>
/// RAUQ, recurrent attention-based uncertainty quantification (Vazhentsev et al., "Uncertainty-aware attention heads:
/// efficient unsupervised uncertainty quantification for LLMs", arXiv 2505.20045, 2025; LM-Polygraph
/// <c>estimators/rauq.py</c> at <c>efea882d</c>), as specified in specs/uq-attention-methods.md §1.
/// </summary>
/// <remarks>
/// <para>Per layer <c>l ∈ 𝓛</c> (default ⌊L/3⌋…⌈2L/3⌉): pick the head with the largest mean self-weight over the answer,
/// run <c>c(0) = s_0</c>, <c>c(j) = α·s_j + (1−α)·a_j·c(j−1)</c> with <c>a_j = A[P+j−1, P+j−1]</c> (the generation-time
/// diagonal, §0.2), take <c>u_l = 1 − mean_j ln c(j)</c>; RAUQ = <c>max_l u_l</c>. <c>s_i = p_i</c>, or
/// <c>ln V − H_i + 1e−10</c> with <c>use_entropy</c>.</para>
/// <para>Output: uncertainty (higher = worse), in <c>[1, ∞)</c> for the probability variant, above
/// <c>1 − ln ln V</c> for the entropy variant. Confidence (probability variant only): <c>exp(1 − RAUQ)</c> ∈ (0, 1], the
/// geometric mean of the worst layer's <c>c(j)</c>. <c>n = 1</c>: <c>1 − ln s_0</c> (no attention is read).</para>
/// <para>Cost: no extra model call; the backend makes only the layers of 𝓛 eager during generation and the reducer keeps
/// <c>|𝓛|·H</c> floats per generated token.</para>
/// <para>Errors (this sample only): no attention rows captured, a configured layer outside the model, a confidence
/// <c>c = 0</c> (probability underflow: RAUQ would be +∞).</para>
/// </remarks>
internal sealed class RauqEstimatorFactory : ISampleEstimatorFactory
{
    /// <summary>Recipe name.</summary>
    public const string MetricName = "rauq";

    /// <summary>α when the recipe sets none: 0.2 for the probability variant, 0.8 for the entropy variant (LM-Polygraph's
    /// base-model defaults, <c>get_alpha</c> and <c>default_estimators.yaml</c>, spec §1.2).</summary>
    public static double DefaultAlpha(bool useEntropy) => useEntropy ? 0.8 : 0.2;

    /// <inheritdoc />
    public string Name => MetricName;
    /// <inheritdoc />
    public string Description => "RAUQ: recurrent attention-weighted token confidence, max over middle layers (Vazhentsev et al. 2025; uq-attention-methods §1)";
    /// <inheritdoc />
    public MetricKind Kind => MetricKind.SampleEstimator;

    /// <inheritdoc />
    public IReadOnlyList<OptionSpec> Options => OptionBinder.Specs<RauqOptions>();

    /// <inheritdoc />
    public ISampleEstimator Create(OptionValues options)
    {
        bool useEntropy = OptionChecks.Boolean(options, MetricName, "use_entropy", RauqOptions.Defaults.UseEntropy);
        double alpha = OptionChecks.Number(options, MetricName, "alpha", DefaultAlpha(useEntropy), 0, 1);
        var layers = OptionChecks.IntegerList(options, MetricName, "layers", 0);
        return new RauqEstimator(alpha, useEntropy, layers);
    }
}

/// <summary>The RAUQ estimator of one recipe entry (see <see cref="RauqEstimatorFactory"/>).</summary>
/// <param name="alpha">α ∈ [0, 1].</param>
/// <param name="useEntropy">Entropy variant.</param>
/// <param name="layers">Explicit layer set, or null for the default range.</param>
internal sealed class RauqEstimator(double alpha, bool useEntropy, IReadOnlyList<int>? layers) : ISampleEstimator
{
    /// <summary>α.</summary>
    public double Alpha => alpha;
    /// <summary>Entropy variant.</summary>
    public bool UseEntropy => useEntropy;

    /// <inheritdoc />
    public MetricNeeds Needs => MetricNeeds.TokenScores | MetricNeeds.AttentionRows;

    /// <summary>The layers 𝓛 used with a model of <paramref name="modelLayers"/> layers (explicit ones as given).</summary>
    public IReadOnlyList<int> LayersFor(int modelLayers) => layers ?? RauqMath.DefaultLayers(modelLayers);

    /// <summary>A <see cref="SelfWeightReducer"/> over 𝓛 from the first generated position. An explicit layer outside the
    /// model does not throw here (that would cost the whole sample): the reducer carries the problem and
    /// <see cref="Estimate"/> reports it.</summary>
    public IAttentionRowReducer? CreateReducer(ModelInfo model, int promptLength)
    {
        var wanted = LayersFor(model.Layers);
        var outside = wanted.Where(l => l >= model.Layers).ToList();
        var inside = wanted.Where(l => l < model.Layers).ToList();
        return new SelfWeightReducer(inside.Count > 0 ? inside : [0], promptLength)
        {
            Problem = outside.Count == 0 ? null :
                $"metrics.{RauqEstimatorFactory.MetricName}.layers: layer{(outside.Count > 1 ? "s" : "")} {string.Join(", ", outside)} outside the model's {model.Layers} layers (0…{model.Layers - 1})",
        };
    }

    /// <inheritdoc />
    public SampleEstimate Estimate(EstimationContext context)
    {
        const string name = RauqEstimatorFactory.MetricName;
        var reducer = context.Reducer as SelfWeightReducer
            ?? throw new InvalidOperationException($"{name}: no attention rows were captured for this answer (the backend must support attention capture)");
        if (reducer.Problem is { } problem) throw new InvalidOperationException(problem);
        var scores = context.Answer.Scores;
        int n = scores.Tokens.Count, p = context.PromptTokens.Count;
        if (n == 0) throw new InvalidOperationException($"{name}: the answer has no tokens");
        if (reducer.FromPosition != p) throw new InvalidOperationException($"{name}: the reducer was made for a prompt of {reducer.FromPosition} tokens, the answer follows {p}");
        var s = RauqMath.TokenConfidences(scores.LogProbs, scores.Entropies, context.Model.Info.VocabSize, useEntropy);
        if (s.Any(x => !double.IsFinite(x))) throw new InvalidOperationException($"{name}: a token {(useEntropy ? "entropy" : "log-probability")} is not finite");

        var results = new List<RauqLayer>();
        foreach (var layer in LayersFor(context.Model.Info.Layers))
        {
            int heads = Math.Max(1, context.Model.Info.Heads);
            var a = new double[heads][];
            for (int h = 0; h < heads; h++) a[h] = new double[n - 1];
            for (int j = 1; j < n; j++)
            {
                var w = reducer.SelfWeights(layer, p + j - 1)
                        ?? throw new InvalidOperationException($"{name}: the attention row of decode step {j} (query position {p + j - 1}) of layer {layer} was not delivered");
                if (w.Length != heads) throw new InvalidOperationException($"{name}: layer {layer} delivered {w.Length} heads, the model has {heads}");
                for (int h = 0; h < heads; h++) a[h][j - 1] = w[h];
            }
            results.Add(RauqMath.Layer(layer, s, a, alpha));
        }

        var worst = results.MaxBy(r => r.Uncertainty)!;   // first maximum, as numpy's max over layers
        if (!double.IsFinite(worst.Uncertainty))
            throw new InvalidOperationException($"{name}: a token confidence c(j) of layer {worst.Layer} is 0 (a token probability underflowed), so RAUQ is +∞");
        var details = new Dictionary<string, object?>
        {
            ["variant"] = useEntropy ? "entropy" : "probability",
            ["alpha"] = alpha,
            ["layers"] = results.Select(r => r.Layer).ToArray(),
            ["heads"] = results.Select(r => r.Head).ToArray(),
            ["u"] = results.Select(r => r.Uncertainty).ToArray(),
            ["layer"] = worst.Layer,
        };
        return new SampleEstimate(worst.Uncertainty, useEntropy ? null : Math.Min(1, Math.Exp(1 - worst.Uncertainty))) { Details = details };
    }
}
