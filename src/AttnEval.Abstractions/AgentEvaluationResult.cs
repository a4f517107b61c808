namespace AttnEval.Abstractions;

/// <summary>What an agent evaluation reports besides its episodes.</summary>
/// <param name="ReferenceCondition">The condition every other one is compared with (e.g. <c>clean</c>).</param>
/// <param name="Conditions">Every condition in report order, the reference first.</param>
public sealed record AgentEvaluationResult(string ReferenceCondition, IReadOnlyList<string> Conditions)
{
    /// <summary>Scalar facts for <c>summary.json</c> (corpus size, retriever settings, ...).</summary>
    public IReadOnlyDictionary<string, object?> Summary { get; init; } = new Dictionary<string, object?>();
    /// <summary>File names written into the run folder.</summary>
    public IReadOnlyList<string> Artifacts { get; init; } = [];
}
