namespace AttnEval.Abstractions;

/// <summary>
/// A loaded decoder language model (DESIGN.md §4). Implementations are not required to be thread-safe;
/// the host calls one model from one thread at a time.
/// </summary>
public interface ILanguageModel : IDisposable
{
    /// <summary>Shape, dtype and device of the model.</summary>
    ModelInfo Info { get; }

    /// <summary>The model's tokenizer.</summary>
    ITokenizer Tokenizer { get; }

    /// <summary>Interventions this model can apply (types of <see cref="HeadIntervention"/>); a request with another kind throws <see cref="NotSupportedException"/>.</summary>
    IReadOnlySet<Type> SupportedInterventions { get; }

    /// <summary>True when the model can deliver attention rows to <see cref="IAttentionRowReducer"/>s.</summary>
    bool SupportsAttentionCapture { get; }

    /// <summary>True when <see cref="Score"/> honours <see cref="ScoreRequest.CaptureFinalHidden"/> (the final normalised
    /// residual stream, TransformerLens <c>ln_final.hook_normalized</c>). False by default; added in contract 1.1.</summary>
    bool SupportsFinalHidden => false;

    /// <summary>Continues a prompt with a KV cache. Deterministic for a given request, seed and device.</summary>
    /// <exception cref="ArgumentException">Empty prompt, prompt longer than the context, bad settings.</exception>
    /// <exception cref="NotSupportedException">Captures or an intervention the model cannot provide (the message names the missing output).</exception>
    GenerationResult Generate(GenerationRequest request, CancellationToken cancellationToken = default);

    /// <summary>Teacher-forced scoring: log-probabilities and entropies of <c>Tokens[From..]</c> given their prefixes.</summary>
    /// <exception cref="ArgumentException"><c>From</c> outside [1, Tokens.Count] or too long a sequence.</exception>
    /// <exception cref="NotSupportedException">See <see cref="Generate"/>.</exception>
    TokenScores Score(ScoreRequest request, CancellationToken cancellationToken = default);

    /// <summary>Several generation requests (different prompts) in as few batched forward passes as the backend can:
    /// result <c>i</c> is what <see cref="Generate"/> returns for <c>requests[i]</c>. Each request's captures see its own
    /// positions only (<see cref="AttentionRowBlock.Sequence"/> is the sequence index within that request, positions and
    /// key lengths as if it ran alone; padding never reaches a reducer), and its interventions act on its own rows.
    /// Greedy tokens equal those of one-at-a-time calls up to float rounding of the batched kernels (a near-tie can
    /// flip); sampled sequence <c>k</c> of a request keeps its seed <c>Seed + k</c> whatever the batch. The default runs
    /// the requests one after another. Added in contract 1.3.</summary>
    /// <exception cref="ArgumentException">A request that <see cref="Generate"/> would refuse; the message names its index.</exception>
    /// <exception cref="NotSupportedException">See <see cref="Generate"/>.</exception>
    IReadOnlyList<GenerationResult> GenerateBatch(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var results = new GenerationResult[requests.Count];
        for (int i = 0; i < requests.Count; i++) results[i] = Generate(requests[i], cancellationToken);
        return results;
    }

    /// <summary>Several teacher-forced scorings in as few batched forward passes as the backend can, computing a prefix
    /// that the requests share (e.g. a prompt and answer whose variants differ in one token: UQAC's ensemble, uq-methods
    /// §1.7) once: result <c>i</c> equals <see cref="Score"/> of <c>requests[i]</c> within float rounding (1e-5 on
    /// log-probabilities in the tests). Captures see each request as if it ran alone (its own positions, its own key
    /// length, <see cref="AttentionRowBlock.Sequence"/> 0; padding never reaches a reducer). The default runs the
    /// requests one after another. Added in contract 1.3.</summary>
    /// <exception cref="ArgumentException">A request that <see cref="Score"/> would refuse; the message names its index.</exception>
    /// <exception cref="NotSupportedException">See <see cref="Score"/>.</exception>
    IReadOnlyList<TokenScores> ScoreBatch(IReadOnlyList<ScoreRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var results = new TokenScores[requests.Count];
        for (int i = 0; i < requests.Count; i++) results[i] = Score(requests[i], cancellationToken);
        return results;
    }
}
