using AttnEval.Abstractions;

namespace AttnEval.Decoding;

/// <summary>The argument checks every backend applies to <see cref="ILanguageModel.Generate"/> and <see cref="ILanguageModel.Score"/>,
/// with one message per problem naming the value and what was expected.</summary>
public static class DecodingChecks
{
    /// <summary>Checks a generation request against the model and returns its sampling settings (greedy when null).</summary>
    /// <exception cref="ArgumentException">Empty prompt, an id outside the vocabulary, a prompt that fills the context,
    /// MaxNewTokens or NumSequences &lt; 1, temperature &lt; 0, top_p outside (0, 1], top_k &lt; 0, TopLogProbs &lt; 0.</exception>
    public static SamplingOptions CheckGenerate(GenerationRequest request, ModelInfo info)
    {
        ArgumentNullException.ThrowIfNull(request);
        var prompt = request.PromptTokens ?? throw new ArgumentException("PromptTokens is null.", nameof(request));
        var s = request.Sampling ?? SamplingOptions.Greedy;
        if (prompt.Count == 0) throw new ArgumentException("the prompt is empty: pass at least one token (e.g. BOS).", nameof(request));
        CheckIds(prompt, info);
        if (prompt.Count >= info.ContextLength) throw new ArgumentException($"the prompt has {prompt.Count} tokens; the context holds {info.ContextLength}, leaving no room to generate.", nameof(request));
        if (request.MaxNewTokens < 1) throw new ArgumentException($"MaxNewTokens is {request.MaxNewTokens}, expected ≥ 1.", nameof(request));
        if (request.NumSequences < 1) throw new ArgumentException($"NumSequences is {request.NumSequences}, expected ≥ 1.", nameof(request));
        if (!(s.Temperature >= 0) || !(s.TopP > 0 && s.TopP <= 1) || s.TopK < 0) throw new ArgumentException($"bad sampling settings {s}: temperature ≥ 0, top_p in (0, 1], top_k ≥ 0.", nameof(request));
        if (request.TopLogProbs < 0) throw new ArgumentException("TopLogProbs must be ≥ 0.", nameof(request));
        return s;
    }

    /// <summary>Checks a teacher-forced scoring request against the model.</summary>
    /// <exception cref="ArgumentException"><c>From</c> outside [1, Tokens.Count], more tokens than the context, or an id outside the vocabulary.</exception>
    public static void CheckScore(ScoreRequest request, ModelInfo info)
    {
        ArgumentNullException.ThrowIfNull(request);
        var toks = request.Tokens;
        if (toks.Count == 0 || request.From < 1 || request.From > toks.Count)
            throw new ArgumentException($"From = {request.From} must be in [1, {toks.Count}] (the first token is context only).", nameof(request));
        if (toks.Count > info.ContextLength) throw new ArgumentException($"{toks.Count} tokens exceed the context of {info.ContextLength}.", nameof(request));
        CheckIds(toks, info);
    }

    private static void CheckIds(IReadOnlyList<int> ids, ModelInfo info)
    {
        foreach (var id in ids)
            if (id < 0 || id >= info.VocabSize) throw new ArgumentException($"token id {id} is outside the vocabulary [0, {info.VocabSize}).", "request");
    }
}
