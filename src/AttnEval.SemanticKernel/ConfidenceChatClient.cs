using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace AttnEval.SemanticKernel;

/// <summary>
/// Confidence middleware for any <see cref="IChatClient"/> (DESIGN.md §8, framework-anchors §1.8–1.9): every response
/// is scored by the gate's scorer — white-box when the inner client is <see cref="AttnEvalChatClient"/>, from returned
/// token log-probabilities when the service gives them, or by re-scoring with a local proxy model — calibrated, and
/// gated: <see cref="GatePolicy.Block"/> throws <see cref="LowConfidenceException"/>, <see cref="GatePolicy.Fallback"/>
/// replaces the answer, <see cref="GatePolicy.Flag"/> only marks it. The verdict is attached to the response and to its
/// message (<see cref="AttnEvalMetadata"/>).
/// </summary>
/// <remarks>Streaming buffers the inner stream, scores the whole answer, then releases the buffered updates, or throws, or
/// streams the (buffered) fallback; the verdict rides on the last content update and on one trailing empty update, so that
/// after <c>ToChatResponseAsync()</c> it is on the response and on its last message, as without streaming. A scorer failure keeps the answer (<c>attneval.gate = error</c>).</remarks>
public sealed class ConfidenceChatClient : DelegatingChatClient
{
    /// <summary>Wraps <paramref name="innerClient"/>.</summary>
    public ConfidenceChatClient(IChatClient innerClient, ConfidenceGate gate) : base(innerClient) =>
        Gate = gate ?? throw new ArgumentNullException(nameof(gate));

    /// <summary>The gate.</summary>
    public ConfidenceGate Gate { get; }

    /// <inheritdoc />
    /// <exception cref="LowConfidenceException">Policy <see cref="GatePolicy.Block"/> and a confidence below the threshold.</exception>
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages as IReadOnlyList<ChatMessage> ?? messages.ToList();
        var response = await base.GetResponseAsync(list, options, cancellationToken).ConfigureAwait(false);
        var decision = await Gate.DecideAsync(ConfidenceScoringContext.FromResponse(list, response), cancellationToken).ConfigureAwait(false);
        switch (decision.Action)
        {
            case GateAction.Blocked:
                AttnEvalMetadata.Attach(response, AttnEvalMetadata.Describe(decision));
                throw new LowConfidenceException(response.Text, decision, response);
            case GateAction.Fallback:
                var replacement = Gate.Options.FallbackClient is { } fb
                    ? await fb.GetResponseAsync(list, options, cancellationToken).ConfigureAwait(false)
                    : new ChatResponse(new ChatMessage(ChatRole.Assistant, Gate.Options.FallbackText))
                    {
                        ResponseId = response.ResponseId, ConversationId = response.ConversationId, ModelId = response.ModelId,
                        CreatedAt = response.CreatedAt, FinishReason = ChatFinishReason.Stop,
                    };
                AttnEvalMetadata.Attach(replacement, Verdict(decision, response.Text));
                return replacement;
            default:
                AttnEvalMetadata.Attach(response, AttnEvalMetadata.Describe(decision));
                return response;
        }
    }

    /// <inheritdoc />
    /// <exception cref="LowConfidenceException">Policy <see cref="GatePolicy.Block"/> and a confidence below the threshold (before any update is released).</exception>
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var list = messages as IReadOnlyList<ChatMessage> ?? messages.ToList();
        var buffered = new List<ChatResponseUpdate>();
        await foreach (var u in base.GetStreamingResponseAsync(list, options, cancellationToken).ConfigureAwait(false))
            buffered.Add(u);
        var response = buffered.ToChatResponse();
        var decision = await Gate.DecideAsync(ConfidenceScoringContext.FromResponse(list, response), cancellationToken).ConfigureAwait(false);

        if (decision.Action == GateAction.Blocked)
        {
            AttnEvalMetadata.Attach(response, AttnEvalMetadata.Describe(decision));
            throw new LowConfidenceException(response.Text, decision, response);
        }
        if (decision.Action == GateAction.Fallback)
        {
            var verdict = Verdict(decision, response.Text);
            var replacement = new List<ChatResponseUpdate>();
            if (Gate.Options.FallbackClient is { } fb)
            {
                await foreach (var u in fb.GetStreamingResponseAsync(list, options, cancellationToken).ConfigureAwait(false))
                    replacement.Add(u);
            }
            else
            {
                replacement.Add(new ChatResponseUpdate(ChatRole.Assistant, Gate.Options.FallbackText)
                {
                    ResponseId = response.ResponseId, MessageId = Guid.NewGuid().ToString("N"), ModelId = response.ModelId,
                    FinishReason = ChatFinishReason.Stop,
                });
            }
            foreach (var u in WithMetadata(replacement, verdict)) yield return u;
            yield break;
        }

        foreach (var u in WithMetadata(buffered, AttnEvalMetadata.Describe(decision))) yield return u;
    }

    /// <summary>
    /// The updates with the verdict placed so that <c>ToChatResponse</c>/<c>ToChatResponseAsync</c> (Microsoft.Extensions.AI)
    /// puts it on the response and on its last message, as <see cref="GetResponseAsync"/> does. MEAI copies an update's
    /// <c>AdditionalProperties</c> onto the message when the update has a <c>MessageId</c>, and onto the response when it has
    /// none; so the trailing updates without an id get the last message's id (or a new one), the last of them carries the
    /// verdict (→ message), and one empty update without an id follows, carrying the verdict again (→ response).
    /// </summary>
    private static List<ChatResponseUpdate> WithMetadata(List<ChatResponseUpdate> updates, List<KeyValuePair<string, object?>> values)
    {
        if (updates.Count == 0) updates.Add(new ChatResponseUpdate(ChatRole.Assistant, ""));
        var id = updates.LastOrDefault(u => u.MessageId is not null)?.MessageId ?? Guid.NewGuid().ToString("N");
        for (var i = updates.Count - 1; i >= 0 && updates[i].MessageId is null; i--) updates[i].MessageId = id;
        AttnEvalMetadata.Set(updates[^1].AdditionalProperties ??= [], values);
        var responseLevel = new ChatResponseUpdate { ResponseId = updates[^1].ResponseId, AdditionalProperties = [] };
        AttnEvalMetadata.Set(responseLevel.AdditionalProperties, values);
        return [.. updates, responseLevel];
    }

    private static List<KeyValuePair<string, object?>> Verdict(GateDecision decision, string originalAnswer)
    {
        var list = AttnEvalMetadata.Describe(decision);
        list.Add(new(AttnEvalMetadata.OriginalAnswer, originalAnswer));
        return list;
    }

    /// <inheritdoc />
    public override object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType == typeof(ConfidenceGate) ? Gate : base.GetService(serviceType, serviceKey);
}

/// <summary>Pipeline and DI helpers for the confidence gate (Microsoft.Extensions.AI style: <c>UseX</c> on a builder, <c>AddX</c> on services).</summary>
public static class AttnEvalConfidenceExtensions
{
    /// <summary>
    /// Adds <see cref="ConfidenceChatClient"/> to a chat pipeline. With <paramref name="configure"/>, a gate with those
    /// settings; without it, the <see cref="ConfidenceGate"/> registered by <see cref="AddAttnEvalConfidence"/> when there
    /// is one, else a default gate (flag below 0.5).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">When the pipeline is built: a threshold outside [0, 1].</exception>
    public static ChatClientBuilder UseAttnEvalConfidence(this ChatClientBuilder builder, Action<ConfidenceGateOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Use((inner, services) =>
        {
            if (configure is null && services.GetService<ConfidenceGate>() is { } registered)
                return new ConfidenceChatClient(inner, registered);
            var options = new ConfidenceGateOptions();
            configure?.Invoke(options);
            return new ConfidenceChatClient(inner, new ConfidenceGate(options));
        });
    }

    /// <summary>Adds <see cref="ConfidenceChatClient"/> with the given gate.</summary>
    public static ChatClientBuilder UseAttnEvalConfidence(this ChatClientBuilder builder, ConfidenceGate gate)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(gate);
        return builder.Use(inner => new ConfidenceChatClient(inner, gate));
    }

    /// <summary>
    /// Registers one <see cref="ConfidenceGate"/> (singleton, from <see cref="ConfidenceGateOptions"/> set by
    /// <paramref name="configure"/>) for <see cref="UseAttnEvalConfidence(ChatClientBuilder, Action{ConfidenceGateOptions}?)"/>
    /// and, when <paramref name="addFunctionFilter"/>, a <see cref="ConfidenceFunctionFilter"/> as a Semantic Kernel
    /// <c>IFunctionInvocationFilter</c> (a <c>Kernel</c> built from these services picks it up).
    /// </summary>
    public static IServiceCollection AddAttnEvalConfidence(this IServiceCollection services, Action<ConfidenceGateOptions>? configure = null, bool addFunctionFilter = true)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton(_ =>
        {
            var o = new ConfidenceGateOptions();
            configure?.Invoke(o);
            return o;
        });
        services.AddSingleton(sp => new ConfidenceGate(sp.GetRequiredService<ConfidenceGateOptions>()));
        if (addFunctionFilter)
            services.AddSingleton<Microsoft.SemanticKernel.IFunctionInvocationFilter>(sp => new ConfidenceFunctionFilter(sp.GetRequiredService<ConfidenceGate>()));
        return services;
    }
}
