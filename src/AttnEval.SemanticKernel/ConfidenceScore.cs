namespace AttnEval.SemanticKernel;

/// <summary>Where a confidence score came from (DESIGN.md §8).</summary>
public enum ConfidenceSource
{
    /// <summary>White-box: computed by <see cref="AttnEvalChatClient"/> while the local model generated the answer
    /// (the estimator saw the answer's token scores and, if it asked for them, attention rows).</summary>
    WhiteBox,
    /// <summary>Grey-box: aggregated from the token log-probabilities a service returned with the answer
    /// (OpenAI-style <c>ContentTokenLogProbabilities</c> or AttnEval's <c>attneval.logprobs</c>).</summary>
    LogProbs,
    /// <summary>Black-box answer re-scored by a local proxy model (<see cref="AttnEval.Abstractions.ILanguageModel.Score"/>,
    /// teacher forcing), with the proxy's estimator.</summary>
    ProxyModel,
}

/// <summary>One answer's confidence as a scorer produced it, before any calibration.</summary>
/// <param name="Method">Name of the estimator (recipe spelling, e.g. <c>msp</c>, <c>perplexity</c>, <c>uqac</c>); a
/// calibrator is only applied to scores of the method it was fitted for.</param>
/// <param name="Uncertainty">The estimator's uncertainty U: finite, higher = less trustworthy; units are the method's
/// (nats for <c>msp</c> and <c>perplexity</c>).</param>
/// <param name="Confidence">The estimator's own confidence in [0, 1] when it has one (e.g. P(answer) = exp(−U) for
/// <c>msp</c>), else null. Not a calibrated probability of being correct.</param>
/// <param name="Source">Where the score came from.</param>
public sealed record ConfidenceScore(string Method, double Uncertainty, double? Confidence, ConfidenceSource Source)
{
    /// <summary>Number of answer tokens the score is based on (0 when unknown).</summary>
    public int Tokens { get; init; }

    /// <summary>Facts about how the score was obtained, or null: e.g. <see cref="ProxyModelConfidenceScorer.JoinMergedKey"/>
    /// (bool) and <see cref="ProxyModelConfidenceScorer.PromptCharsInAnswerKey"/> (int) from proxy re-scoring. Each entry is
    /// also attached to the response as <c>attneval.&lt;key&gt;</c>.</summary>
    public IReadOnlyDictionary<string, object?>? Details { get; init; }
}

/// <summary>One token of an answer with its log-probability, as attached under <see cref="AttnEvalMetadata.LogProbs"/>.</summary>
/// <param name="TokenId">Token id in the model's vocabulary, or −1 when the source gives only text.</param>
/// <param name="Token">The token's text as it appears in the decoded answer.</param>
/// <param name="LogProb">Natural-log probability of the token given its prefix, ≤ 0 (nats).</param>
/// <param name="Entropy">Entropy of the full next-token distribution in nats, or null when the source does not give it.</param>
/// <param name="Top">The most likely alternatives at this step (token text, log-probability), best first; empty when not requested.</param>
public sealed record TokenLogProbability(int TokenId, string Token, double LogProb, double? Entropy = null, IReadOnlyList<TokenAlternative>? Top = null);

/// <summary>An alternative token at one step.</summary>
/// <param name="TokenId">Token id, or −1 when unknown.</param>
/// <param name="Token">Its text.</param>
/// <param name="LogProb">Its natural-log probability, ≤ 0.</param>
public sealed record TokenAlternative(int TokenId, string Token, double LogProb);
