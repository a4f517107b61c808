using AttnEval.Abstractions;
using Microsoft.Extensions.DependencyInjection;

namespace AttnEval.Testing.FakePlugin;

/// <summary>Uncertainty = mean over answer rows of the max attention weight of head 0, layer 0 (exercises reducers).</summary>
public sealed class FakeAttentionMetric : ISampleEstimatorFactory, ISampleEstimator
{
    /// <inheritdoc />
    public string Name => "fake-attention";
    /// <inheritdoc />
    public string Description => "test metric: 1 - mean max attention of L0H0 over answer rows";
    /// <inheritdoc />
    public IReadOnlyList<OptionSpec> Options => [];
    /// <inheritdoc />
    public MetricKind Kind => MetricKind.SampleEstimator;
    /// <inheritdoc />
    public MetricNeeds Needs => MetricNeeds.AttentionRows;
    /// <inheritdoc />
    public ISampleEstimator Create(OptionValues options) => this;
    /// <inheritdoc />
    public IAttentionRowReducer? CreateReducer(ModelInfo model, int promptLength) => new MaxReducer(promptLength);
    /// <inheritdoc />
    public SampleEstimate Estimate(EstimationContext context)
    {
        var r = (MaxReducer)context.Reducer!;
        var mean = r.Maxima.Count == 0 ? throw new InvalidOperationException("no answer rows captured") : r.Maxima.Average();
        return new SampleEstimate(1 - mean, mean);
    }

    private sealed class MaxReducer(int promptLength) : IAttentionRowReducer
    {
        public List<double> Maxima { get; } = [];
        public IReadOnlySet<int>? Layers { get; } = new HashSet<int> { 0 };
        public void Accept(in AttentionRowBlock block)
        {
            for (int i = 0; i < block.QueryCount; i++)
                if (block.QueryStart + i >= promptLength)
                {
                    float m = 0;
                    foreach (var x in block.Row(0, i)) m = Math.Max(m, x);
                    Maxima.Add(m);
                }
        }
    }
}

/// <summary>Throws on the samples named in option <c>fail_ids</c>; otherwise uncertainty = answer length.</summary>
public sealed class FakeFlakyMetric : ISampleEstimatorFactory
{
    /// <inheritdoc />
    public string Name => "fake-flaky";
    /// <inheritdoc />
    public string Description => "test metric that throws on chosen sample ids";
    /// <inheritdoc />
    public IReadOnlyList<OptionSpec> Options => [new("fail_ids", OptionType.StringList, null, "sample ids to throw on")];
    /// <inheritdoc />
    public MetricKind Kind => MetricKind.SampleEstimator;
    /// <inheritdoc />
    public ISampleEstimator Create(OptionValues options) => new Estimator(options.GetStringList("fail_ids").ToHashSet());

    private sealed class Estimator(HashSet<string> failIds) : ISampleEstimator
    {
        public MetricNeeds Needs => MetricNeeds.None;
        public IAttentionRowReducer? CreateReducer(ModelInfo model, int promptLength) => null;
        public SampleEstimate Estimate(EstimationContext context) =>
            failIds.Contains(context.Sample.Id)
                ? throw new InvalidOperationException($"fake-flaky was told to fail on {context.Sample.Id}")
                : new SampleEstimate(context.Answer.Tokens.Count);
    }
}

/// <summary>Registers the fake backend and metrics.</summary>
public sealed class FakePlugin : IAttnEvalPlugin
{
    /// <inheritdoc />
    public string Name => "fake";
    /// <inheritdoc />
    public void ConfigureServices(IServiceCollection services)
    {
        services.AddSingleton<IModelBackend, FakeBackend>();
        services.AddSingleton<ISampleEstimatorFactory, FakeAttentionMetric>();
        services.AddSingleton<ISampleEstimatorFactory, FakeFlakyMetric>();
        services.AddSingleton<IRecipeKind, FakeAnswerLengthKind>();
    }
}
