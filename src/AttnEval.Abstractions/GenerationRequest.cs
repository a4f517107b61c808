namespace AttnEval.Abstractions;

/// <summary>A request to continue a prompt.</summary>
public sealed record GenerationRequest
{
    /// <summary>Prompt token ids (include BOS if the model expects it).</summary>
    public required IReadOnlyList<int> PromptTokens { get; init; }
    /// <summary>Maximum number of new tokens, ≥ 1.</summary>
    public int MaxNewTokens { get; init; } = 128;
    /// <summary>Decoding settings.</summary>
    public SamplingOptions Sampling { get; init; } = SamplingOptions.Greedy;
    /// <summary>Number of independent continuations of the same prompt (batched). Sequence k uses seed <c>Seed + k</c>.</summary>
    public int NumSequences { get; init; } = 1;
    /// <summary>Token ids that end a sequence (in addition to the tokenizer's <see cref="ITokenizer.StopIds"/>); the stop token is kept in the output.</summary>
    public IReadOnlyList<int> StopTokens { get; init; } = [];
    /// <summary>Strings that end a sequence once they appear in the decoded continuation; the text is cut before them.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];
    /// <summary>Number of top alternatives to report per step (0 = none).</summary>
    public int TopLogProbs { get; init; }
    /// <summary>Also return, in each sequence's <see cref="TokenScores.FinalHidden"/>, the final normalised hidden state of
    /// every position the model was fed: the prompt and every generated token but the last (which is never fed back), so
    /// <c>PromptTokens.Count + n − 1</c> vectors of length d_model for n generated tokens, indexed by absolute position as
    /// a teacher-forced <see cref="ScoreRequest.CaptureFinalHidden"/> over prompt + continuation indexes them (and equal to
    /// those within float rounding: cached keys and values instead of one pass). An estimator that needs them asks through
    /// <see cref="ISampleEstimator.AnswerOutputs"/> and so avoids a second pass over the answer (UQAC, uq-methods §1.6). A
    /// backend that cannot return them leaves <see cref="TokenScores.FinalHidden"/> null; callers must check. Contract 1.4.</summary>
    public bool CaptureFinalHidden { get; init; }
    /// <summary>Attention reducers called during every forward step (prompt and generated positions).</summary>
    public IReadOnlyList<IAttentionRowReducer> Captures { get; init; } = [];
    /// <summary>Head interventions active during the whole call.</summary>
    public IReadOnlyList<HeadIntervention> Interventions { get; init; } = [];
}
