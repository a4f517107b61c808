using Microsoft.Extensions.AI;

namespace AttnEval.SemanticKernel;

/// <summary>
/// Keys AttnEval writes into <see cref="ChatResponse.AdditionalProperties"/>, the answer message's
/// <see cref="ChatMessage.AdditionalProperties"/> and (for Semantic Kernel) <c>FunctionResult.Metadata</c>. Both the
/// response and the message carry them because Semantic Kernel copies the message's properties into
/// <c>ChatMessageContent.Metadata</c> and the response's into a prompt function's result (framework-anchors §1.3).
/// </summary>
public static class AttnEvalMetadata
{
    /// <summary><c>attneval.confidence</c>: <see cref="double"/> in [0, 1], the confidence the gate compared with its
    /// threshold: the calibrated probability of being correct when a calibrator is set, else the estimator's own
    /// confidence. Absent when there is none (an estimator without confidence and no calibrator, or a scorer error).</summary>
    public const string Confidence = "attneval.confidence";
    /// <summary><c>attneval.confidence_raw</c>: <see cref="double"/> in [0, 1], the estimator's own confidence before calibration.</summary>
    public const string RawConfidence = "attneval.confidence_raw";
    /// <summary><c>attneval.uncertainty</c>: <see cref="double"/>, the estimator's uncertainty (higher = less trustworthy).</summary>
    public const string Uncertainty = "attneval.uncertainty";
    /// <summary><c>attneval.method</c>: <see cref="string"/>, the estimator's name.</summary>
    public const string Method = "attneval.method";
    /// <summary><c>attneval.source</c>: <see cref="string"/>, <c>WhiteBox</c>, <c>LogProbs</c> or <c>ProxyModel</c>.</summary>
    public const string Source = "attneval.source";
    /// <summary><c>attneval.score</c>: the whole <see cref="ConfidenceScore"/>.</summary>
    public const string Score = "attneval.score";
    /// <summary><c>attneval.logprobs</c>: <see cref="IReadOnlyList{T}"/> of <see cref="TokenLogProbability"/>, one per answer token.</summary>
    public const string LogProbs = "attneval.logprobs";
    /// <summary><c>attneval.gate</c>: <see cref="string"/>, what the gate did: <c>passed</c>, <c>flagged</c>,
    /// <c>fallback</c>, <c>blocked</c> or <c>error</c> (the scorer failed; the answer was kept).</summary>
    public const string Gate = "attneval.gate";
    /// <summary><c>attneval.threshold</c>: <see cref="double"/>, the gate's threshold on <see cref="Confidence"/>.</summary>
    public const string Threshold = "attneval.threshold";
    /// <summary><c>attneval.error</c>: <see cref="string"/>, why no score could be computed (the answer is still returned).</summary>
    public const string Error = "attneval.error";
    /// <summary><c>attneval.original_answer</c>: <see cref="string"/>, the model's answer that a fallback replaced.</summary>
    public const string OriginalAnswer = "attneval.original_answer";

    /// <summary>The key under which Semantic Kernel's OpenAI connector puts token log-probabilities
    /// (<c>ChatMessageContent.Metadata["ContentTokenLogProbabilities"]</c>, framework-anchors §1.7).</summary>
    public const string OpenAiLogProbs = "ContentTokenLogProbabilities";

    /// <summary>Sets <paramref name="values"/> on the response and on its last message (null values remove the key).</summary>
    public static void Attach(ChatResponse response, IEnumerable<KeyValuePair<string, object?>> values)
    {
        ArgumentNullException.ThrowIfNull(response);
        var list = values.ToList();
        Set(response.AdditionalProperties ??= [], list);
        if (response.Messages.Count > 0)
        {
            var last = response.Messages[^1];
            Set(last.AdditionalProperties ??= [], list);
        }
    }

    /// <summary>Reads a key from the response, else from its last message; null when absent.</summary>
    public static object? Read(ChatResponse response, string key) =>
        response.AdditionalProperties?.TryGetValue(key, out var v) == true ? v
        : response.Messages.Count > 0 && response.Messages[^1].AdditionalProperties?.TryGetValue(key, out var m) == true ? m
        : null;

    internal static void Set(IDictionary<string, object?> target, IEnumerable<KeyValuePair<string, object?>> values)
    {
        foreach (var (k, v) in values)
            if (v is null) target.Remove(k);
            else target[k] = v;
    }

    /// <summary>The metadata of a scored answer: score fields, gate action, threshold and confidence.</summary>
    internal static List<KeyValuePair<string, object?>> Describe(GateDecision d)
    {
        var list = new List<KeyValuePair<string, object?>>
        {
            new(Gate, d.Action.ToMetadata()),
            new(Threshold, d.Threshold),
            new(Confidence, d.Confidence),
            new(Error, d.Error),
        };
        if (d.Score is { } s)
        {
            list.Add(new(Score, s));
            list.Add(new(Uncertainty, s.Uncertainty));
            list.Add(new(RawConfidence, s.Confidence));
            list.Add(new(Method, s.Method));
            list.Add(new(Source, s.Source.ToString()));
            foreach (var (k, v) in s.Details ?? new Dictionary<string, object?>()) list.Add(new("attneval." + k, v));
        }
        return list;
    }
}
