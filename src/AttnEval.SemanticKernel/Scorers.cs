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
/// <param name="proxy">The local model (used by one call at a time; calls lock on it).</param>
/// <param name="estimator">The estimator run on the proxy's view of the answer.</param>
/// <param name="chatFormat">The proxy's chat format; null detects it from its tokenizer.</param>
public sealed class ProxyModelConfidenceScorer(ILanguageModel proxy, LocalEstimator estimator, ChatFormat? chatFormat = null) : IConfidenceScorer
{
    private readonly ChatPromptFormatter _formatter = new(chatFormat ?? ChatPromptFormatter.FromTokenizer(proxy.Tokenizer));

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The prompt and answer are longer than the proxy's context, or the conversation does not end with a user message.</exception>
    public ValueTask<ConfidenceScore?> ScoreAsync(ConfidenceScoringContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Answer.Length == 0) return ValueTask.FromResult<ConfidenceScore?>(null);
        var prompt = _formatter.Render(context.Messages);
        var userText = context.Messages.Last(m => m.Role == ChatRole.User).Text;
        var tok = proxy.Tokenizer;
        var promptTokens = tok.Encode(prompt, addBos: true);
        var answerTokens = tok.Encode(context.Answer);
        if (answerTokens.Count == 0) return ValueTask.FromResult<ConfidenceScore?>(null);
        lock (proxy)
        {
            var reducer = estimator.CreateReducer(proxy.Info, promptTokens.Count);
            var scores = proxy.Score(new ScoreRequest
            {
                Tokens = promptTokens.Concat(answerTokens).ToList(),
                From = promptTokens.Count,
                Captures = reducer is null ? [] : [reducer],
            }, cancellationToken);
            var answer = new GeneratedSequence(scores, context.Answer, FinishReason.StopToken);
            var sampled = estimator.Sample(proxy, promptTokens, Math.Max(answerTokens.Count, 1) * 2, _formatter.StopStrings, cancellationToken);
            return ValueTask.FromResult<ConfidenceScore?>(
                estimator.Estimate(proxy, userText, prompt, promptTokens, answer, sampled, reducer, ConfidenceSource.ProxyModel));
        }
    }
}
