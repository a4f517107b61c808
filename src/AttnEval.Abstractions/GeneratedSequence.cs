namespace AttnEval.Abstractions;

/// <summary>One generated continuation.</summary>
/// <param name="Scores">Generated tokens with their log-probabilities and entropies.</param>
/// <param name="Text">Decoded continuation, cut before a stop string when one ended it.</param>
/// <param name="Finish">Why it ended.</param>
public sealed record GeneratedSequence(TokenScores Scores, string Text, FinishReason Finish)
{
    /// <summary>Generated token ids.</summary>
    public IReadOnlyList<int> Tokens => Scores.Tokens;
}
