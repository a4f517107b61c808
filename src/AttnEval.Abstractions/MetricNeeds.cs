namespace AttnEval.Abstractions;

/// <summary>What a metric needs from a run, so that each thing is computed once for all metrics.</summary>
[Flags]
public enum MetricNeeds
{
    /// <summary>Nothing beyond the answer text.</summary>
    None = 0,
    /// <summary>Per-token log-probabilities and entropies of the answer.</summary>
    TokenScores = 1,
    /// <summary>Attention rows through an <see cref="IAttentionRowReducer"/> during generation.</summary>
    AttentionRows = 2,
    /// <summary>Several sampled answers to the same prompt (<c>generation.samples</c>).</summary>
    SampledAnswers = 4,
    /// <summary>A sentence-similarity model.</summary>
    SentenceSimilarity = 8,
    /// <summary>Extra model calls (Score/Generate) made by the metric itself.</summary>
    ModelCalls = 16,
}
