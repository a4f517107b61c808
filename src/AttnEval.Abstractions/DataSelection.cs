namespace AttnEval.Abstractions;

/// <summary>The subset a data scorer selects.</summary>
/// <param name="SelectedIds">Ids of the selected documents.</param>
public sealed record DataSelection(IReadOnlySet<string> SelectedIds)
{
    /// <summary>Nothing selected.</summary>
    public static DataSelection None { get; } = new(new HashSet<string>());

    /// <summary>Scalar results for <c>summary.json</c> (e.g. selected counts and score thresholds per group).</summary>
    public IReadOnlyDictionary<string, object?> Summary { get; init; } = new Dictionary<string, object?>();

    /// <summary>File names the scorer wrote into the run folder.</summary>
    public IReadOnlyList<string> Artifacts { get; init; } = [];
}
