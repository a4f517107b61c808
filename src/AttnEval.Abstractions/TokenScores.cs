namespace AttnEval.Abstractions;

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
