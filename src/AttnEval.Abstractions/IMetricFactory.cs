namespace AttnEval.Abstractions;

/// <summary>Factory of a metric of any kind.</summary>
public interface IMetricFactory : IComponentFactory
{
    /// <summary>The kind of result.</summary>
    MetricKind Kind { get; }
}
