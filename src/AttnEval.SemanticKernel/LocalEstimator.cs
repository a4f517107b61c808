using AttnEval.Abstractions;
using AttnEval.Core.Plugins;

namespace AttnEval.SemanticKernel;

/// <summary>
/// A per-sample estimator bound to its recipe name, with the settings it needs to run outside a recipe: how many
/// sampled answers to draw when it declares <see cref="MetricNeeds.SampledAnswers"/>, and a sentence-similarity
/// model when it declares <see cref="MetricNeeds.SentenceSimilarity"/>.
/// </summary>
/// <param name="Name">The estimator's recipe name (e.g. <c>msp</c>); it names the scores and must match a calibrator's metric.</param>
/// <param name="Estimator">The estimator.</param>
public sealed record LocalEstimator(string Name, ISampleEstimator Estimator)
{
    /// <summary>Sampled answers drawn per prompt for estimators that need them (≥ 1; default 5).</summary>
    public int SampledAnswers { get; init; } = 5;
    /// <summary>Temperature of the sampled answers (&gt; 0; default 1).</summary>
    public double SampleTemperature { get; init; } = 1.0;
    /// <summary>Seed of the sampled answers.</summary>
    public long Seed { get; init; } = 7;
    /// <summary>The sentence-similarity model for estimators that declare it; null otherwise.</summary>
    public ISentenceSimilarity? Similarity { get; init; }

    /// <summary>Creates the estimator named <paramref name="name"/> from a plugin catalog with its default options
    /// (or <paramref name="options"/>).</summary>
    /// <exception cref="ArgumentException">No such metric, or it is not a per-sample estimator; the message lists the installed ones.</exception>
    public static LocalEstimator FromCatalog(IComponentCatalog catalog, string name, OptionValues? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        if (!catalog.Metrics.TryGetValue(name, out var f) || f is not ISampleEstimatorFactory factory)
        {
            var known = catalog.Metrics.Values.OfType<ISampleEstimatorFactory>().Select(m => m.Name).Order(StringComparer.Ordinal);
            throw new ArgumentException($"'{name}' is not an installed per-sample estimator; expected one of: {string.Join(", ", known)}", nameof(name));
        }
        options ??= new OptionValues(factory.Options.Where(o => o.Default is not null).ToDictionary(o => o.Key, o => o.Default, StringComparer.Ordinal));
        return new LocalEstimator(name, factory.Create(options));
    }

    /// <summary>Creates this prompt's attention reducer when the estimator reads attention rows, else null.</summary>
    internal IAttentionRowReducer? CreateReducer(ModelInfo info, int promptLength) =>
        Estimator.Needs.HasFlag(MetricNeeds.AttentionRows) ? Estimator.CreateReducer(info, promptLength) : null;

    /// <summary>Draws the sampled answers the estimator needs (none when it does not declare them). Caller holds the model.</summary>
    internal IReadOnlyList<GeneratedSequence> Sample(ILanguageModel model, IReadOnlyList<int> promptTokens, int maxNewTokens, IReadOnlyList<string> stops, CancellationToken ct) =>
        !Estimator.Needs.HasFlag(MetricNeeds.SampledAnswers) ? [] : model.Generate(new GenerationRequest
        {
            PromptTokens = promptTokens,
            MaxNewTokens = maxNewTokens,
            NumSequences = SampledAnswers,
            Sampling = new SamplingOptions(SampleTemperature, Seed: Seed),
            StopStrings = stops,
        }, ct).Sequences;

    /// <summary>Runs the estimator and checks what it returned (finite uncertainty, confidence in [0, 1]).</summary>
    /// <exception cref="InvalidOperationException">The estimator returned a non-finite uncertainty or a confidence outside [0, 1].</exception>
    internal ConfidenceScore Estimate(ILanguageModel model, string userText, string prompt, IReadOnlyList<int> promptTokens,
        GeneratedSequence answer, IReadOnlyList<GeneratedSequence> sampled, IAttentionRowReducer? reducer, ConfidenceSource source)
    {
        var est = Estimator.Estimate(new EstimationContext
        {
            Model = model,
            Sample = new Sample("chat", userText, null, new Dictionary<string, object?>()),
            Prompt = prompt,
            PromptTokens = promptTokens,
            Answer = answer,
            SampledAnswers = sampled,
            Reducer = reducer,
            Similarity = Similarity,
        });
        if (!double.IsFinite(est.Uncertainty))
            throw new InvalidOperationException($"estimator '{Name}' returned a non-finite uncertainty ({est.Uncertainty})");
        if (est.Confidence is { } c && !(c >= 0 && c <= 1))
            throw new InvalidOperationException($"estimator '{Name}' returned a confidence outside [0, 1] ({c})");
        return new ConfidenceScore(Name, est.Uncertainty, est.Confidence, source) { Tokens = answer.Tokens.Count };
    }
}
