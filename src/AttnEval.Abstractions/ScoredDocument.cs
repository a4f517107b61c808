namespace AttnEval.Abstractions;

/// <summary>A scored document as handed to <see cref="IDataScorer.Select"/>.</summary>
/// <param name="Id">The document's sample id.</param>
/// <param name="Group">Its selection group (the <c>group</c> detail of its score), or null.</param>
/// <param name="Score">Its score (higher = more valuable); finite.</param>
public sealed record ScoredDocument(string Id, string? Group, double Score);
