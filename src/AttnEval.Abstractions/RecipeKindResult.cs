namespace AttnEval.Abstractions;

/// <summary>What a plugin recipe kind's run found (contract 1.5). The host writes it into <c>summary.json</c> as
/// <c>{ …header, "status", "conclusion", "warning", "artifacts", "result": Summary }</c>.</summary>
/// <param name="Summary">The run's numbers for <c>summary.json</c>'s <c>result</c>: JSON-serialisable values (null, bool, numbers,
/// strings, lists and string-keyed maps of those); written in the order given.</param>
public sealed record RecipeKindResult(IReadOnlyDictionary<string, object?> Summary)
{
    /// <summary>One line stating what the run concludes, or null; stored as <c>conclusion</c> and printed by <c>attneval run</c>.</summary>
    public string? Conclusion { get; init; }
    /// <summary>Why the run supports no finding although it ran (e.g. every item failed), or null; the host marks the run
    /// <c>inconclusive</c> with this as its <c>warning</c>, prints it and exits 1.</summary>
    public string? Inconclusive { get; init; }
    /// <summary>Files the run wrote into <see cref="RecipeKindContext.OutputDirectory"/>, relative names.</summary>
    public IReadOnlyList<string> Artifacts { get; init; } = [];
    /// <summary>Records that carry an error (items that failed); the host stores it as <c>n_errors</c>.</summary>
    public int Errors { get; init; }
}
