using Microsoft.Extensions.AI;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using FunctionInvocationContext = Microsoft.SemanticKernel.FunctionInvocationContext;
using TextContent = Microsoft.SemanticKernel.TextContent;

namespace AttnEval.SemanticKernel;

/// <summary>
/// A Semantic Kernel <see cref="IFunctionInvocationFilter"/> that gates prompt functions with the same scorer and policy
/// as <see cref="ConfidenceChatClient"/> (DESIGN.md §8; framework-anchors §1.3). After the function runs it scores the
/// answer against the rendered prompt and replaces <see cref="FunctionInvocationContext.Result"/>: metadata added
/// (passed / flagged / error), the value replaced by the fallback (same value kind: <see cref="ChatResponse"/>,
/// <see cref="ChatMessageContent"/> or string), or <see cref="LowConfidenceException"/> thrown (block).
/// </summary>
/// <remarks>
/// Left unchanged: functions that are not prompt functions (no rendered prompt), streaming invocations (put
/// <see cref="ConfidenceChatClient"/> in the chat pipeline to gate streams), and results a
/// <see cref="ConfidenceChatClient"/> already gated (they carry <c>attneval.gate</c>). Filters do not see the model turn
/// of a <c>ChatCompletionAgent</c> (framework-anchors §1.5): gate agents with the chat-client middleware.
/// </remarks>
/// <param name="gate">The gate.</param>
public sealed class ConfidenceFunctionFilter(ConfidenceGate gate) : IFunctionInvocationFilter
{
    /// <summary>The gate.</summary>
    public ConfidenceGate Gate { get; } = gate ?? throw new ArgumentNullException(nameof(gate));

    /// <inheritdoc />
    /// <exception cref="LowConfidenceException">Policy <see cref="GatePolicy.Block"/> and a confidence below the threshold.</exception>
    public async Task OnFunctionInvocationAsync(FunctionInvocationContext context, Func<FunctionInvocationContext, Task> next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        await next(context).ConfigureAwait(false);
        var result = context.Result;
        if (context.IsStreaming || result?.RenderedPrompt is not { } prompt) return;

        var value = result.GetValue<object>();
        var metadata = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (result.Metadata is { } md) foreach (var (k, v) in md) metadata[k] = v;
        string answer;
        object? raw = null;
        switch (value)
        {
            case ChatResponse r:
                answer = r.Text;
                foreach (var (k, v) in ConfidenceScoringContext.FromResponse([], r).Metadata) metadata[k] = v;
                raw = r.RawRepresentation;
                break;
            case ChatMessageContent c:
                answer = c.Content ?? "";
                if (c.Metadata is { } cm) foreach (var (k, v) in cm) metadata[k] = v;
                raw = c.InnerContent;
                break;
            case TextContent t:
                answer = t.Text ?? "";
                if (t.Metadata is { } tm) foreach (var (k, v) in tm) metadata[k] = v;
                raw = t.InnerContent;
                break;
            default:
                answer = value?.ToString() ?? "";
                break;
        }
        if (metadata.ContainsKey(AttnEvalMetadata.Gate)) return; // already gated in the chat pipeline

        var messages = new List<ChatMessage> { new(ChatRole.User, prompt) };
        var decision = await Gate.DecideAsync(new ConfidenceScoringContext(messages, answer, metadata, raw), context.CancellationToken).ConfigureAwait(false);
        var verdict = AttnEvalMetadata.Describe(decision);
        if (decision.Action == GateAction.Blocked)
            throw new LowConfidenceException(answer, decision);

        object? newValue = value;
        if (decision.Action == GateAction.Fallback)
        {
            verdict.Add(new(AttnEvalMetadata.OriginalAnswer, answer));
            var text = Gate.Options.FallbackClient is { } fb
                ? (await fb.GetResponseAsync(messages, cancellationToken: context.CancellationToken).ConfigureAwait(false)).Text
                : Gate.Options.FallbackText;
            newValue = value switch
            {
                ChatResponse => new ChatResponse(new ChatMessage(ChatRole.Assistant, text)),
                ChatMessageContent c => new ChatMessageContent(AuthorRole.Assistant, text, c.ModelId),
                TextContent t => new TextContent(text, t.ModelId),
                _ => text,
            };
        }
        if (newValue is ChatResponse resp) AttnEvalMetadata.Attach(resp, verdict);
        AttnEvalMetadata.Set(metadata, verdict);
        context.Result = new FunctionResult(result, newValue) { Metadata = metadata };
    }
}
