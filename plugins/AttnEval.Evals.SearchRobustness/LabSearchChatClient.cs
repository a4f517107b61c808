using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using AttnEval.Abstractions;
using Microsoft.Extensions.AI;

namespace AttnEval.Evals.SearchRobustness;

/// <summary>
/// A local <see cref="IChatClient"/> over an <see cref="ILanguageModel"/> that speaks the lab model's text tool format
/// (samples/LabModel/Tasks.cs) and maps it to and from Microsoft.Extensions.AI function calls:
/// the user's question becomes <c>Question: {q}\nAnswer:</c>; the model's <c> &lt;search&gt; {query}&lt;/search&gt;</c>
/// becomes a <see cref="FunctionCallContent"/> for the <c>search</c> tool (when the request offers it); a
/// <see cref="FunctionResultContent"/> (a JSON array of passages with <c>text</c>, or a string) is rendered as
/// <c>\n&lt;result&gt;\nDoc 1: …\n&lt;/result&gt;\n</c>; the answer <c>&lt;answer&gt; … &lt;/answer&gt;</c> is returned as text.
/// System messages are not shown to the model (it was trained without them).
/// </summary>
/// <remarks>Every response carries the generated tokens' natural-log probabilities as a list of doubles under
/// <see cref="LogProbsKey"/> (on the response and its message), which the AttnEval confidence middleware reads as returned
/// log-probabilities. Options honoured: MaxOutputTokens, Temperature, TopP, TopK, Seed. Calls are serialised on the model.</remarks>
internal sealed class LabSearchChatClient : IChatClient
{
    /// <summary>The metadata key of the per-token log-probabilities (the key Semantic Kernel's OpenAI connector uses).</summary>
    public const string LogProbsKey = "ContentTokenLogProbabilities";
    private const string SearchOpen = "<search>", SearchClose = "</search>", AnswerClose = "</answer>";
    private readonly ILanguageModel _model;
    private readonly int _maxNewTokens;
    private int _calls;

    /// <summary>Creates the client.</summary>
    /// <param name="model">The lab model (or any model trained on the same format).</param>
    /// <param name="maxNewTokens">New tokens per turn when the request sets none, ≥ 1.</param>
    public LabSearchChatClient(ILanguageModel model, int maxNewTokens = 48)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        ArgumentOutOfRangeException.ThrowIfLessThan(maxNewTokens, 1);
        _maxNewTokens = maxNewTokens;
    }

    /// <summary>Renders a conversation in the lab format, ending where the model continues.</summary>
    /// <exception cref="ArgumentException">No user message.</exception>
    public static string Render(IEnumerable<ChatMessage> messages)
    {
        var sb = new StringBuilder();
        bool asked = false;
        foreach (var m in messages)
        {
            if (m.Role == ChatRole.System) continue;
            if (m.Role == ChatRole.User)
            {
                if (asked) sb.Append('\n');
                sb.Append("Question: ").Append(m.Text).Append("\nAnswer:");
                asked = true;
                continue;
            }
            foreach (var c in m.Contents)
            {
                switch (c)
                {
                    case FunctionCallContent call:
                        sb.Append(' ').Append(SearchOpen).Append(' ').Append(QueryOf(call)).Append(SearchClose);
                        break;
                    case FunctionResultContent result:
                        sb.Append(ResultBlock(result.Result));
                        break;
                    case TextContent t when m.Role == ChatRole.Assistant:
                        sb.Append(t.Text);
                        break;
                }
            }
        }
        if (!asked) throw new ArgumentException("the conversation has no user message (the question)", nameof(messages));
        return sb.ToString();
    }

    private static string QueryOf(FunctionCallContent call) =>
        call.Arguments?.TryGetValue("query", out var q) == true ? Convert.ToString(q is JsonElement { ValueKind: JsonValueKind.String } je ? je.GetString() : q, CultureInfo.InvariantCulture) ?? "" : "";

    /// <summary>The lab result block for a tool result: each passage's text (with its title in front when it has one)
    /// as <c>Doc i: …</c>; a string result is shown as one line.</summary>
    public static string ResultBlock(object? result)
    {
        var sb = new StringBuilder("\n<result>\n");
        var passages = result switch
        {
            JsonElement { ValueKind: JsonValueKind.Array } a => a.EnumerateArray().Select(e => (Title(e), Text: e.TryGetProperty("text", out var t) ? t.GetString() ?? "" : e.ToString())).ToList(),
            IEnumerable<ToolPassage> list => list.Select(p => (p.Title, p.Text)).ToList(),
            null => [],
            JsonElement { ValueKind: JsonValueKind.String } s => [("", s.GetString() ?? "")],
            _ => [("", result.ToString() ?? "")],
        };
        for (int i = 0; i < passages.Count; i++)
        {
            var (title, text) = passages[i];
            sb.Append(CultureInfo.InvariantCulture, $"Doc {i + 1}: {(title.Length > 0 ? title + ": " : "")}{text}\n");
        }
        return sb.Append("</result>\n").ToString();

        static string Title(JsonElement e) => e.TryGetProperty("title", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";
    }

    /// <inheritdoc />
    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var prompt = Render(messages);
        bool toolOffered = options?.Tools?.OfType<AIFunction>().Any(t => t.Name == "search") == true;
        GeneratedSequence seq;
        IReadOnlyList<int> promptTokens;
        lock (_model)
        {
            promptTokens = _model.Tokenizer.Encode(prompt, addBos: true);
            seq = _model.Generate(new GenerationRequest
            {
                PromptTokens = promptTokens,
                MaxNewTokens = options?.MaxOutputTokens ?? _maxNewTokens,
                Sampling = new SamplingOptions(options?.Temperature ?? 0, options?.TopP ?? 1, options?.TopK ?? 0, options?.Seed ?? 0),
                StopStrings = [SearchClose, AnswerClose],
            }, cancellationToken).Sequences[0];
        }

        var text = seq.Text;
        int s = text.IndexOf(SearchOpen, StringComparison.Ordinal);
        int a = text.IndexOf("<answer>", StringComparison.Ordinal);
        ChatMessage message;
        if (toolOffered && s >= 0 && (a < 0 || s < a))
        {
            var query = text[(s + SearchOpen.Length)..].Trim();
            var callId = "call_" + Interlocked.Increment(ref _calls).ToString(CultureInfo.InvariantCulture);
            message = new ChatMessage(ChatRole.Assistant, [new FunctionCallContent(callId, "search", new Dictionary<string, object?> { ["query"] = query })]);
        }
        else
        {
            if (seq.Finish == FinishReason.StopString && a >= 0 && !text.Contains(AnswerClose, StringComparison.Ordinal)) text += AnswerClose;
            message = new ChatMessage(ChatRole.Assistant, text);
        }
        var logProbs = seq.Scores.LogProbs.Select(x => (double)x).ToList();
        message.AdditionalProperties = new() { [LogProbsKey] = logProbs };
        var response = new ChatResponse(message)
        {
            ModelId = _model.Info.Name,
            FinishReason = message.Contents.OfType<FunctionCallContent>().Any() ? ChatFinishReason.ToolCalls
                : seq.Finish is FinishReason.Length or FinishReason.ContextFull ? ChatFinishReason.Length : ChatFinishReason.Stop,
            Usage = new UsageDetails { InputTokenCount = promptTokens.Count, OutputTokenCount = seq.Tokens.Count, TotalTokenCount = promptTokens.Count + seq.Tokens.Count },
            AdditionalProperties = new() { [LogProbsKey] = logProbs },
        };
        return Task.FromResult(response);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        foreach (var u in response.ToChatResponseUpdates()) yield return u;
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType == typeof(ILanguageModel) ? _model
        : serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    /// <inheritdoc />
    public void Dispose() { }
}
