namespace AttnEval.Abstractions;

/// <summary>Everything an estimator may read for one sample.</summary>
public sealed record EstimationContext
{
    /// <summary>The model (for estimators that declare <see cref="MetricNeeds.ModelCalls"/>).</summary>
    public required ILanguageModel Model { get; init; }
    /// <summary>The sample.</summary>
    public required Sample Sample { get; init; }
    /// <summary>The rendered prompt text.</summary>
    public required string Prompt { get; init; }
    /// <summary>The prompt's token ids.</summary>
    public required IReadOnlyList<int> PromptTokens { get; init; }
    /// <summary>The answer being judged (greedy or the recipe's main decoding).</summary>
    public required GeneratedSequence Answer { get; init; }
    /// <summary>Sampled answers to the same prompt (empty unless some metric needs them).</summary>
    public IReadOnlyList<GeneratedSequence> SampledAnswers { get; init; } = [];
    /// <summary>The reducer this estimator created for this sample, after it received the answer's rows; null if none.</summary>
    public IAttentionRowReducer? Reducer { get; init; }
    /// <summary>The sentence-similarity model when declared.</summary>
    public ISentenceSimilarity? Similarity { get; init; }
}
