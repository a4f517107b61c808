using Microsoft.Extensions.AI;

namespace AttnEval.SemanticKernel;

/// <summary>What a scorer may read about one answer: the conversation that asked for it, the answer's text and
/// whatever metadata and raw representation its producer attached.</summary>
/// <param name="Messages">The request messages (system, user, earlier turns), in order; at least one.</param>
/// <param name="Answer">The answer text being judged.</param>
/// <param name="Metadata">Merged additional properties of the response and its answer message (or a Semantic Kernel
/// result's metadata); keys as <see cref="AttnEvalMetadata"/> lists, plus any the service adds.</param>
/// <param name="RawRepresentation">The producer's own object (e.g. an OpenAI <c>ChatCompletion</c>), or null.</param>
public sealed record ConfidenceScoringContext(
    IReadOnlyList<ChatMessage> Messages,
    string Answer,
    IReadOnlyDictionary<string, object?> Metadata,
    object? RawRepresentation = null)
{
    /// <summary>Builds the context of a chat response to <paramref name="messages"/>: metadata of the response and of
    /// its last message, the message's entries winning.</summary>
    public static ConfidenceScoringContext FromResponse(IEnumerable<ChatMessage> messages, ChatResponse response)
    {
        var md = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (response.AdditionalProperties is { } r) foreach (var (k, v) in r) md[k] = v;
        if (response.Messages.Count > 0 && response.Messages[^1].AdditionalProperties is { } m) foreach (var (k, v) in m) md[k] = v;
        var raw = response.RawRepresentation ?? (response.Messages.Count > 0 ? response.Messages[^1].RawRepresentation : null);
        return new ConfidenceScoringContext(messages.ToList(), response.Text, md, raw);
    }
}

/// <summary>
/// Scores one answer (DESIGN.md §8). Implementations: <see cref="WhiteBoxConfidenceScorer"/> (the score
/// <see cref="AttnEvalChatClient"/> attached), <see cref="LogProbConfidenceScorer"/> (a service's token log-probabilities),
/// <see cref="ProxyModelConfidenceScorer"/> (re-scoring with a local model), and <see cref="CompositeConfidenceScorer"/>
/// (the first of several that can score).
/// </summary>
public interface IConfidenceScorer
{
    /// <summary>Scores the answer, or returns null when this scorer has nothing to score it with (e.g. no
    /// log-probabilities in the metadata).</summary>
    /// <exception cref="Exception">Any failure; the gate keeps the answer and flags it (<c>attneval.gate = error</c>).</exception>
    ValueTask<ConfidenceScore?> ScoreAsync(ConfidenceScoringContext context, CancellationToken cancellationToken = default);
}

/// <summary>Tries scorers in order and returns the first score; null when none can score.</summary>
/// <param name="scorers">The scorers, most preferred first (white-box, then log-probabilities, then a proxy model).</param>
public sealed class CompositeConfidenceScorer(params IReadOnlyList<IConfidenceScorer> scorers) : IConfidenceScorer
{
    /// <summary>The scorers in the order they are tried.</summary>
    public IReadOnlyList<IConfidenceScorer> Scorers { get; } = scorers;

    /// <inheritdoc />
    public async ValueTask<ConfidenceScore?> ScoreAsync(ConfidenceScoringContext context, CancellationToken cancellationToken = default)
    {
        foreach (var s in Scorers)
            if (await s.ScoreAsync(context, cancellationToken).ConfigureAwait(false) is { } score)
                return score;
        return null;
    }
}
