namespace AttnEval.Abstractions;

/// <summary>The result of one estimator on one sample.</summary>
/// <param name="Uncertainty">Uncertainty, higher = less trustworthy; finite.</param>
/// <param name="Confidence">Optional confidence in [0, 1] (probability-like), used by ECE/Brier; null when the method has none.</param>
public sealed record SampleEstimate(double Uncertainty, double? Confidence = null)
{
    /// <summary>Optional method-specific details written to the sample record (small, JSON-serialisable).</summary>
    public IReadOnlyDictionary<string, object?>? Details { get; init; }
}
