using System.Collections;
using System.Globalization;
using System.Text.Json;
using AttnEval.Abstractions;
using AttnEval.Core.Recipes;
using Microsoft.Extensions.AI;

namespace AttnEval.SemanticKernel;

/// <summary>White-box: returns the <see cref="ConfidenceScore"/> that <see cref="AttnEvalChatClient"/> attached under
/// <see cref="AttnEvalMetadata.Score"/>; null when there is none (another client produced the answer).</summary>
public sealed class WhiteBoxConfidenceScorer : IConfidenceScorer
{
    /// <inheritdoc />
    public ValueTask<ConfidenceScore?> ScoreAsync(ConfidenceScoringContext context, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(context.Metadata.TryGetValue(AttnEvalMetadata.Score, out var s) ? s as ConfidenceScore : null);
}

/// <summary>How <see cref="LogProbConfidenceScorer"/> turns token log-probabilities ℓ_1…ℓ_T (nats) into a score.
/// The definitions equal the baseline estimators of the same names (specs/uq-methods.md §3), so a calibrator fitted on
/// a run of that estimator applies.</summary>
public enum LogProbAggregation
{
    /// <summary><c>msp</c>: U = −Σ_t ℓ_t = −log P(answer); confidence P(answer) = exp(−U).</summary>
    SequenceProbability,
    /// <summary><c>perplexity</c>: U = −(1/T) Σ_t ℓ_t; confidence exp(−U), the geometric-mean token probability.</summary>
    Perplexity,
}

/// <summary>
/// Grey-box: scores an answer from the token log-probabilities its service returned. It reads, in order:
/// <see cref="AttnEvalMetadata.LogProbs"/> (a list of <see cref="TokenLogProbability"/>);
/// <see cref="AttnEvalMetadata.OpenAiLogProbs"/> (Semantic Kernel's OpenAI connector: items with a
/// <c>LogProbability</c> property, or plain numbers, or a JSON array of objects with <c>logprob</c>); and a
/// <c>ContentTokenLogProbabilities</c> property of the raw representation (an OpenAI <c>ChatCompletion</c> obtained
/// through Microsoft.Extensions.AI). Returns null when none is present or the list is empty.
/// </summary>
/// <param name="aggregation">How log-probabilities become a score.</param>
public sealed class LogProbConfidenceScorer(LogProbAggregation aggregation = LogProbAggregation.SequenceProbability) : IConfidenceScorer
{
    /// <summary>The aggregation.</summary>
    public LogProbAggregation Aggregation { get; } = aggregation;

    /// <summary>The method name the scores carry: <c>msp</c> or <c>perplexity</c>.</summary>
    public string Method => Aggregation == LogProbAggregation.Perplexity ? "perplexity" : "msp";

    /// <inheritdoc />
    /// <exception cref="InvalidDataException">A log-probability is positive or not a number (the message gives its index).</exception>
    public ValueTask<ConfidenceScore?> ScoreAsync(ConfidenceScoringContext context, CancellationToken cancellationToken = default)
    {
        var lps = Extract(context);
        if (lps is null || lps.Count == 0) return ValueTask.FromResult<ConfidenceScore?>(null);
        for (int i = 0; i < lps.Count; i++)
            if (!(lps[i] <= 0)) throw new InvalidDataException($"token log-probability {i} is {lps[i].ToString(CultureInfo.InvariantCulture)}; expected a number ≤ 0 (nats)");
        double sum = 0;
        foreach (var l in lps) sum += l;
        var u = Aggregation == LogProbAggregation.Perplexity ? -sum / lps.Count : -sum;
        return ValueTask.FromResult<ConfidenceScore?>(new ConfidenceScore(Method, u, Math.Exp(-u), ConfidenceSource.LogProbs) { Tokens = lps.Count });
    }

    /// <summary>The answer's token log-probabilities found in the context (see the class remarks), or null.</summary>
    public static IReadOnlyList<double>? Extract(ConfidenceScoringContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Metadata.TryGetValue(AttnEvalMetadata.LogProbs, out var own) && own is IEnumerable<TokenLogProbability> tl)
            return tl.Select(t => t.LogProb).ToList();
        if (context.Metadata.TryGetValue(AttnEvalMetadata.OpenAiLogProbs, out var oa) && FromObject(oa) is { } fromMeta)
            return fromMeta;
        if (context.RawRepresentation?.GetType().GetProperty(AttnEvalMetadata.OpenAiLogProbs)?.GetValue(context.RawRepresentation) is { } raw)
            return FromObject(raw);
        return null;
    }

    private static List<double>? FromObject(object? value)
    {
        switch (value)
        {
            case null or string: return null;
            case JsonElement { ValueKind: JsonValueKind.Array } arr:
                return arr.EnumerateArray().Select(e =>
                    e.ValueKind == JsonValueKind.Number ? e.GetDouble()
                    : e.ValueKind == JsonValueKind.Object && e.TryGetProperty("logprob", out var lp) ? lp.GetDouble()
                    : double.NaN).ToList();
            case IEnumerable items:
                var list = new List<double>();
                foreach (var item in items)
                {
                    list.Add(item switch
                    {
                        double d => d,
                        float f => f,
                        TokenLogProbability t => t.LogProb,
                        null => double.NaN,
                        _ => item.GetType().GetProperty("LogProbability")?.GetValue(item) is { } p
                            ? Convert.ToDouble(p, CultureInfo.InvariantCulture) : double.NaN,
                    });
                }
                return list;
            default: return null;
        }
    }
}

/// <summary>
/// Black-box answers re-scored by a local proxy model: the conversation is rendered in the proxy's chat format, the
/// answer is appended, and <see cref="ILanguageModel.Score"/> (teacher forcing) gives the answer's token
/// log-probabilities, entropies and — when the estimator reads them — attention rows; the estimator then scores it as
/// if the proxy had generated the answer. Sampled answers, when the estimator needs them, are drawn from the proxy.
/// </summary>
/// <remarks>
/// <para><b>Which tokens are scored.</b> Prompt and answer are encoded together (<c>Encode(prompt + answer)</c>), as the
/// proxy would have seen its own generation, and the scored continuation is what follows the longest common prefix of
/// that joint encoding and the prompt's own encoding. Encoding the answer on its own would score tokens the text does not
/// have (a SentencePiece dummy-prefix "▁" before the answer) and split a token that spans the join. When the prompt's
/// encoding is not a prefix of the joint one — the last prompt token(s) merged with the start of the answer (e.g. "Q" +
/// "4" → "Q4") — the merged token(s) are scored whole, and the score's <see cref="ConfidenceScore.Details"/> say so:
/// <see cref="JoinMergedKey"/> = true and <see cref="PromptCharsInAnswerKey"/> = the number of prompt characters inside
/// the scored tokens (both also attached to the response as <c>attneval.proxy_join_merged</c> /
/// <c>attneval.proxy_prompt_chars_scored</c>).</para>
/// </remarks>
/// <param name="proxy">The local model (used by one call at a time; calls lock on it).</param>
/// <param name="estimator">The estimator run on the proxy's view of the answer.</param>
/// <param name="chatFormat">The proxy's chat format; null detects it from its tokenizer.</param>
public sealed class ProxyModelConfidenceScorer(ILanguageModel proxy, LocalEstimator estimator, ChatFormat? chatFormat = null) : IConfidenceScorer
{
    private readonly ChatPromptFormatter _formatter = new(chatFormat ?? ChatPromptFormatter.FromTokenizer(proxy.Tokenizer));

    /// <summary>Detail key: true when prompt and answer tokens merged at the join (bool).</summary>
    public const string JoinMergedKey = "proxy_join_merged";

    /// <summary>Detail key: how many prompt characters lie inside the scored tokens (0 unless the join merged; int).</summary>
    public const string PromptCharsInAnswerKey = "proxy_prompt_chars_scored";

    /// <summary>
    /// Splits the joint encoding of <paramref name="prompt"/> + <paramref name="answer"/> into context and continuation
    /// (see the type's remarks).
    /// </summary>
    /// <param name="tokenizer">The proxy's tokenizer.</param>
    /// <param name="prompt">The rendered prompt (encoded with BOS).</param>
    /// <param name="answer">The answer text.</param>
    /// <returns>The joint tokens, the split index (tokens before it are context), whether the join merged, and the number of
    /// prompt characters that the continuation covers (0 without a merge).</returns>
    public static (IReadOnlyList<int> Tokens, int Split, bool Merged, int PromptCharsScored) SplitContinuation(ITokenizer tokenizer, string prompt, string answer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(answer);
        var promptTokens = tokenizer.Encode(prompt, addBos: true);
        var joint = tokenizer.Encode(prompt + answer, addBos: true);
        var k = 0;
        while (k < promptTokens.Count && k < joint.Count && promptTokens[k] == joint[k]) k++;
        var merged = k < promptTokens.Count;
        var chars = merged ? Math.Max(0, prompt.Length - tokenizer.Decode(joint.Take(k)).Length) : 0;
        return (joint, k, merged, chars);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The prompt and answer are longer than the proxy's context, or the conversation does not end with a user message.</exception>
    public ValueTask<ConfidenceScore?> ScoreAsync(ConfidenceScoringContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Answer.Length == 0) return ValueTask.FromResult<ConfidenceScore?>(null);
        var prompt = _formatter.Render(context.Messages);
        var userText = context.Messages.Last(m => m.Role == ChatRole.User).Text;
        var tok = proxy.Tokenizer;
        var (joint, split, merged, promptChars) = SplitContinuation(tok, prompt, context.Answer);
        var continuation = joint.Count - split;
        if (continuation == 0) return ValueTask.FromResult<ConfidenceScore?>(null);
        var promptTokens = joint.Take(split).ToList();
        // The scored tokens' own text: the answer, preceded by the prompt characters a merged join token carries.
        var text = merged ? prompt[^promptChars..] + context.Answer : context.Answer;
        lock (proxy)
        {
            var reducer = estimator.CreateReducer(proxy.Info, promptTokens.Count);
            var scores = proxy.Score(new ScoreRequest
            {
                Tokens = joint.ToList(),
                From = split,
                Captures = reducer is null ? [] : [reducer],
                // what the estimator would otherwise score again (contract 1.4): its top-k and hidden states, in this pass
                TopLogProbs = estimator.Estimator.AnswerOutputs.TopLogProbs,
                CaptureFinalHidden = estimator.Estimator.AnswerOutputs.FinalHidden && proxy.SupportsFinalHidden,
            }, cancellationToken);
            var answer = new GeneratedSequence(scores, text, FinishReason.StopToken);
            var sampled = estimator.Sample(proxy, promptTokens, Math.Max(continuation, 1) * 2, _formatter.StopStrings, cancellationToken);
            var score = estimator.Estimate(proxy, userText, merged ? tok.Decode(promptTokens) : prompt, promptTokens, answer, sampled, reducer, ConfidenceSource.ProxyModel)
                with { Details = new Dictionary<string, object?> { [JoinMergedKey] = merged, [PromptCharsInAnswerKey] = promptChars } };
            return ValueTask.FromResult<ConfidenceScore?>(score);
        }
    }
}
