namespace AttnEval.Abstractions;

/// <summary>
/// Consumes attention where it is produced (DESIGN.md §4): the backend calls <see cref="Accept"/>
/// layer by layer during the forward pass and frees the rows afterwards, so no L×H×T×T tensor is
/// ever kept. A reducer keeps only what its metric needs (e.g. a per-row max, an argmax), so its
/// memory grows with T, not with L×H×T².
/// </summary>
/// <remarks>Reducers are per call: one instance receives the rows of one <c>Generate</c> or <c>Score</c> call.
/// Calls arrive on the thread that runs the forward pass, in increasing layer order for each forward step.</remarks>
public interface IAttentionRowReducer
{
    /// <summary>Layers the reducer wants; null means all layers. Backends skip capture for other layers.</summary>
    IReadOnlySet<int>? Layers { get; }

    /// <summary>Receives one block of rows. Must not keep a reference to <paramref name="block"/>'s memory.</summary>
    void Accept(in AttentionRowBlock block);
}
