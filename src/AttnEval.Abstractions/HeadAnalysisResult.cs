namespace AttnEval.Abstractions;

/// <summary>The result of a head analysis.</summary>
/// <param name="Scores">A score per head (higher = more of the function).</param>
public sealed record HeadAnalysisResult(IReadOnlyDictionary<HeadId, double> Scores)
{
    /// <summary>Scalar results for <c>summary.json</c> (e.g. ablation accuracies).</summary>
    public IReadOnlyDictionary<string, object?> Summary { get; init; } = new Dictionary<string, object?>();
    /// <summary>File names written into the run folder.</summary>
    public IReadOnlyList<string> Artifacts { get; init; } = [];
    /// <summary>One line stating what the result concludes, as a reader of <c>summary.json</c> would put it (e.g. the
    /// ablation check's verdict, or that a head set is degenerate); the host stores it as the analysis' <c>conclusion</c>
    /// and <c>attneval run</c> prints it. Null when the analysis draws no conclusion beyond its scores. Added in contract 1.2.</summary>
    public string? Conclusion { get; init; }
    /// <summary>Why the result supports no finding although the analysis ran, or null when it does: e.g. no trial
    /// succeeded, so no head has a score (n = 0; such heads' <see cref="Scores"/> are <see cref="double.NaN"/>, stored as
    /// null). The host marks the analysis <c>inconclusive</c> (not <c>ok</c>) in <c>summary.json</c> with this as its
    /// <c>warning</c>, and <c>attneval run</c> prints it and exits 1. Added in contract 1.2.</summary>
    public string? Inconclusive { get; init; }
}
