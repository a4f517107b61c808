namespace AttnEval.Abstractions;

/// <summary>Decoding settings. <c>Temperature = 0</c> is greedy (argmax, ties to the lowest id).</summary>
/// <param name="Temperature">Softmax temperature, ≥ 0; 0 means greedy.</param>
/// <param name="TopP">Nucleus mass in (0, 1]; 1 disables.</param>
/// <param name="TopK">Keep the k most likely tokens; 0 disables.</param>
/// <param name="Seed">Seed of the sampler; same seed, same device → same tokens.</param>
public sealed record SamplingOptions(double Temperature = 0, double TopP = 1, int TopK = 0, long Seed = 0)
{
    /// <summary>Greedy decoding.</summary>
    public static SamplingOptions Greedy { get; } = new();
    /// <summary>True when <see cref="Temperature"/> is 0.</summary>
    public bool IsGreedy => Temperature == 0;
}

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

/// <summary>Why a sequence ended.</summary>
public enum FinishReason
{
    /// <summary>A stop token was produced.</summary>
    StopToken,
    /// <summary>A stop string appeared.</summary>
    StopString,
    /// <summary><see cref="GenerationRequest.MaxNewTokens"/> was reached.</summary>
    Length,
    /// <summary>The model's context is full.</summary>
    ContextFull,
}

/// <summary>One alternative token at a step.</summary>
/// <param name="Token">Token id.</param>
/// <param name="LogProb">Natural-log probability under the (temperature-1) model distribution.</param>
public readonly record struct TokenLogProb(int Token, float LogProb);

/// <summary>Per-token outputs of a forward pass over a continuation, aligned with its tokens.</summary>
/// <param name="Tokens">The continuation's token ids (length n).</param>
/// <param name="LogProbs">log p(token_i | prefix) in nats under the unscaled model distribution, length n, each ≤ 0.</param>
/// <param name="Entropies">Entropy of the full next-token distribution at each step in nats, length n, in [0, ln V].</param>
/// <param name="TopK">Top alternatives per step when requested (length n), else null.</param>
public sealed record TokenScores(
    IReadOnlyList<int> Tokens,
    IReadOnlyList<float> LogProbs,
    IReadOnlyList<float> Entropies,
    IReadOnlyList<IReadOnlyList<TokenLogProb>>? TopK = null)
{
    /// <summary>With <see cref="ScoreRequest.CaptureFinalHidden"/>: the final normalised residual stream at <b>every</b>
    /// position of the request's <c>Tokens</c> (prompt included, so length <c>Tokens.Count</c> of the request, not n), each
    /// a float32 vector of length d_model — TransformerLens <c>ln_final.hook_normalized</c>, Hugging Face
    /// <c>hidden_states[-1]</c> of Llama-family models (after the final norm, before the unembedding). Null otherwise.
    /// Added in contract 1.1.</summary>
    public IReadOnlyList<float[]>? FinalHidden { get; init; }
}

/// <summary>One generated continuation.</summary>
/// <param name="Scores">Generated tokens with their log-probabilities and entropies.</param>
/// <param name="Text">Decoded continuation, cut before a stop string when one ended it.</param>
/// <param name="Finish">Why it ended.</param>
public sealed record GeneratedSequence(TokenScores Scores, string Text, FinishReason Finish)
{
    /// <summary>Generated token ids.</summary>
    public IReadOnlyList<int> Tokens => Scores.Tokens;
}

/// <summary>The result of <see cref="ILanguageModel.Generate"/>.</summary>
/// <param name="PromptTokens">The prompt as given.</param>
/// <param name="Sequences">The continuations, <see cref="GenerationRequest.NumSequences"/> of them.</param>
public sealed record GenerationResult(IReadOnlyList<int> PromptTokens, IReadOnlyList<GeneratedSequence> Sequences);

/// <summary>Teacher-forced scoring of a given continuation.</summary>
public sealed record ScoreRequest
{
    /// <summary>The whole sequence: prompt then continuation.</summary>
    public required IReadOnlyList<int> Tokens { get; init; }
    /// <summary>Index of the first continuation token, in [1, Tokens.Count]; tokens before it are context only.</summary>
    public required int From { get; init; }
    /// <summary>Number of top alternatives to report per scored position (0 = none).</summary>
    public int TopLogProbs { get; init; }
    /// <summary>Attention reducers called during the forward pass.</summary>
    public IReadOnlyList<IAttentionRowReducer> Captures { get; init; } = [];
    /// <summary>Head interventions active during the call.</summary>
    public IReadOnlyList<HeadIntervention> Interventions { get; init; } = [];
    /// <summary>Also return the final normalised hidden state of every position in <see cref="TokenScores.FinalHidden"/>
    /// (UQAC's similarity filter, uq-methods §1.6; generalized Ships, head-methods §2.3). A model whose
    /// <see cref="ILanguageModel.SupportsFinalHidden"/> is false throws <see cref="NotSupportedException"/>. Contract 1.1.</summary>
    public bool CaptureFinalHidden { get; init; }
}
