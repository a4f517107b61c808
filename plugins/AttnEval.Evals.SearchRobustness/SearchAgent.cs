using System.Globalization;
using Microsoft.Extensions.AI;

namespace AttnEval.Evals.SearchRobustness;

/// <summary>What one agent episode produced.</summary>
/// <param name="FinalText">The last assistant text (empty when the agent never answered).</param>
/// <param name="Answer">The <c>&lt;answer&gt;</c> span of <paramref name="FinalText"/>, or null (counts as no answer).</param>
/// <param name="Turns">Model calls made.</param>
/// <param name="OutputTokens">Output tokens over all turns (from the responses' usage; 0 when not reported).</param>
/// <param name="Confidence">The confidence middleware's <c>attneval.confidence</c> on the final response, or null.</param>
/// <param name="ConfidenceDetail">Its <c>attneval.method</c>, <c>attneval.source</c>, <c>attneval.gate</c> and <c>attneval.error</c> when present.</param>
internal sealed record AgentOutcome(string FinalText, string? Answer, int Turns, long OutputTokens, double? Confidence,
    IReadOnlyDictionary<string, string> ConfidenceDetail);

/// <summary>
/// The agent loop of specs/head-methods.md §4.2.1 over any <see cref="IChatClient"/>: the question goes in as a user
/// message (after an optional system message); each response with <see cref="FunctionCallContent"/>s has its calls run
/// against the episode's <see cref="SearchSession"/> and answered with <see cref="FunctionResultContent"/>s; the first
/// response without a call ends the episode. The loop is run here (not by a function-invoking middleware) so that every
/// call and result is logged and the budget is enforced.
/// </summary>
internal static class SearchAgent
{
    /// <summary>The default instruction for chat models (the lab client does not show system messages).</summary>
    public const string DefaultSystemPrompt =
        "Answer the question. Use the search tool to find evidence; you may search several times. " +
        "Give only the final answer, wrapped as <answer>...</answer>.";

    /// <summary>Runs one episode.</summary>
    /// <param name="client">The agent's chat client (possibly wrapped by the confidence middleware).</param>
    /// <param name="question">The question as the agent sees it.</param>
    /// <param name="session">The episode's search tool.</param>
    /// <param name="options">Sampling options (temperature, seed, max output tokens); the tool is added to a copy.</param>
    /// <param name="systemPrompt">A system message, or null for none.</param>
    /// <param name="maxTurns">Model calls at most, ≥ 1 (budget + 1 lets the agent answer after its last search).</param>
    /// <param name="cancellationToken">Cancels the episode.</param>
    public static async Task<AgentOutcome> RunAsync(IChatClient client, string question, SearchSession session, ChatOptions? options,
        string? systemPrompt, int maxTurns, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(session);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTurns, 1);
        var chatOptions = options?.Clone() ?? new ChatOptions();
        chatOptions.Tools = [session.Function];
        chatOptions.ToolMode = ChatToolMode.Auto;
        var messages = new List<ChatMessage>();
        if (!string.IsNullOrEmpty(systemPrompt)) messages.Add(new ChatMessage(ChatRole.System, systemPrompt));
        messages.Add(new ChatMessage(ChatRole.User, question));

        long tokens = 0;
        for (int turn = 1; turn <= maxTurns; turn++)
        {
            var response = await client.GetResponseAsync(messages, chatOptions, cancellationToken).ConfigureAwait(false);
            tokens += response.Usage?.OutputTokenCount ?? 0;
            messages.AddRange(response.Messages);
            var calls = response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().ToList();
            if (calls.Count == 0 || turn == maxTurns)
            {
                var text = calls.Count == 0 ? response.Text : "";
                return new AgentOutcome(text, calls.Count == 0 ? AnswerText.ParseAnswer(text) : null, turn, tokens,
                    ReadDouble(response, "attneval.confidence"), Detail(response));
            }
            var results = new List<AIContent>();
            foreach (var call in calls)
            {
                object? result = call.Name == session.Function.Name
                    ? await session.Function.InvokeAsync(new AIFunctionArguments(call.Arguments), cancellationToken).ConfigureAwait(false)
                    : $"unknown tool '{call.Name}'; the only tool is '{session.Function.Name}'";
                results.Add(new FunctionResultContent(call.CallId, result));
            }
            messages.Add(new ChatMessage(ChatRole.Tool, results));
        }
        throw new InvalidOperationException("unreachable: the loop returns on its last turn");
    }

    private static object? Read(ChatResponse r, string key) =>
        r.AdditionalProperties?.TryGetValue(key, out var v) == true ? v
        : r.Messages.Count > 0 && r.Messages[^1].AdditionalProperties?.TryGetValue(key, out var m) == true ? m : null;

    private static double? ReadDouble(ChatResponse r, string key) => Read(r, key) switch
    {
        double d when double.IsFinite(d) => d,
        float f when float.IsFinite(f) => f,
        _ => null,
    };

    private static Dictionary<string, string> Detail(ChatResponse r)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in new[] { "attneval.method", "attneval.source", "attneval.gate", "attneval.error" })
            if (Read(r, key) is { } v) d[key["attneval.".Length..]] = Convert.ToString(v, CultureInfo.InvariantCulture) ?? "";
        return d;
    }
}
