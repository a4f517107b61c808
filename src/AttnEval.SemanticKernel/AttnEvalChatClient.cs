using System.Runtime.CompilerServices;
using AttnEval.Abstractions;
using AttnEval.Core.Recipes;
using Microsoft.Extensions.AI;

namespace AttnEval.SemanticKernel;

/// <summary>Settings of <see cref="AttnEvalChatClient"/>.</summary>
public sealed record AttnEvalChatClientOptions
{
    /// <summary>The estimator whose score is attached to every answer; null attaches log-probabilities only.</summary>
    public LocalEstimator? Estimator { get; init; }
    /// <summary>The chat format; null detects it from the tokenizer (<see cref="ChatPromptFormatter.FromTokenizer"/>).
    /// For a Hugging Face folder use <see cref="ChatPromptFormatter.FromModelFolder"/> (its <c>chat_template</c>).</summary>
    public ChatFormat? ChatFormat { get; init; }
    /// <summary>New tokens when <see cref="ChatOptions.MaxOutputTokens"/> is not set (≥ 1; default 256).</summary>
    public int MaxNewTokens { get; init; } = 256;
    /// <summary>Top alternatives reported per answer token in <see cref="AttnEvalMetadata.LogProbs"/> (0 = none).</summary>
    public int TopLogProbs { get; init; }
    /// <summary>Model id reported in <see cref="ChatResponse.ModelId"/>; null uses <see cref="ModelInfo.Name"/>.</summary>
    public string? ModelId { get; init; }
}

/// <summary>
/// An <see cref="IChatClient"/> over a loaded AttnEval <see cref="ILanguageModel"/> (DESIGN.md §8): it renders the
/// conversation in the model's chat format (<see cref="ChatPromptFormatter"/>), generates with the model's KV cache
/// (greedy unless <see cref="ChatOptions.Temperature"/> &gt; 0), and attaches to both the response and its message the
/// answer's token log-probabilities (<see cref="AttnEvalMetadata.LogProbs"/>) and the chosen estimator's white-box
/// score (<see cref="AttnEvalMetadata.Confidence"/>, <see cref="AttnEvalMetadata.Uncertainty"/>, <see cref="AttnEvalMetadata.Score"/>),
/// computed during generation — attention rows included when the estimator reads them.
/// </summary>
/// <remarks>
/// The model is used by one call at a time (calls lock on the model object, so a proxy scorer over the same model
/// waits its turn). An estimator that throws does not lose the answer: the response carries
/// <see cref="AttnEvalMetadata.Error"/> instead of a score. Streaming yields the whole answer as one update after
/// generation (the contract's <see cref="ILanguageModel.Generate"/> is not incremental), with the metadata on it.
/// Options honoured: <see cref="ChatOptions.MaxOutputTokens"/>, <see cref="ChatOptions.Temperature"/>,
/// <see cref="ChatOptions.TopP"/>, <see cref="ChatOptions.TopK"/>, <see cref="ChatOptions.Seed"/>,
/// <see cref="ChatOptions.StopSequences"/>; tools are not supported and are ignored.
/// </remarks>
public sealed class AttnEvalChatClient : IChatClient
{
    private readonly ILanguageModel _model;
    private readonly AttnEvalChatClientOptions _options;
    private readonly ChatPromptFormatter _formatter;
    private readonly bool _ownsModel;

    /// <summary>Creates the client.</summary>
    /// <param name="model">The loaded model.</param>
    /// <param name="options">Settings; null for defaults (no estimator, detected chat format).</param>
    /// <param name="ownsModel">Dispose the model with the client.</param>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="AttnEvalChatClientOptions.MaxNewTokens"/> &lt; 1 or <see cref="AttnEvalChatClientOptions.TopLogProbs"/> &lt; 0.</exception>
    public AttnEvalChatClient(ILanguageModel model, AttnEvalChatClientOptions? options = null, bool ownsModel = false)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _options = options ?? new AttnEvalChatClientOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxNewTokens, 1, "options.MaxNewTokens");
        ArgumentOutOfRangeException.ThrowIfNegative(_options.TopLogProbs, "options.TopLogProbs");
        _formatter = new ChatPromptFormatter(_options.ChatFormat ?? ChatPromptFormatter.FromTokenizer(model.Tokenizer));
        _ownsModel = ownsModel;
        Metadata = new ChatClientMetadata("attneval", null, _options.ModelId ?? model.Info.Name);
    }

    /// <summary>Provider <c>attneval</c> and the model's name.</summary>
    public ChatClientMetadata Metadata { get; }

    /// <summary>The chat formatter in use.</summary>
    public ChatPromptFormatter Formatter => _formatter;

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The conversation does not end with a user message, or the prompt is longer than the model's context.</exception>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var list = messages.ToList();
        var prompt = _formatter.Render(list);
        return await Task.Run(() => Respond(list, prompt, options, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        foreach (var u in response.ToChatResponseUpdates())
            yield return u;
    }

    private ChatResponse Respond(List<ChatMessage> messages, string prompt, ChatOptions? options, CancellationToken ct)
    {
        var tok = _model.Tokenizer;
        var promptTokens = tok.Encode(prompt, addBos: true);
        var est = _options.Estimator;
        var maxNew = options?.MaxOutputTokens ?? _options.MaxNewTokens;
        var stops = _formatter.StopStrings.Concat(options?.StopSequences ?? []).Distinct(StringComparer.Ordinal).ToList();
        var userText = messages.Last(m => m.Role == ChatRole.User).Text;

        GeneratedSequence answer;
        var extra = new List<KeyValuePair<string, object?>>();
        lock (_model)
        {
            var reducer = est?.CreateReducer(_model.Info, promptTokens.Count);
            answer = _model.Generate(new GenerationRequest
            {
                PromptTokens = promptTokens,
                MaxNewTokens = maxNew,
                Sampling = new SamplingOptions(options?.Temperature ?? 0, options?.TopP ?? 1, options?.TopK ?? 0, options?.Seed ?? 0),
                StopStrings = stops,
                // what the estimator reads from the generation itself (contract 1.4), so it needs no second pass
                TopLogProbs = Math.Max(_options.TopLogProbs, est?.Estimator.AnswerOutputs.TopLogProbs ?? 0),
                CaptureFinalHidden = est is not null && est.Estimator.AnswerOutputs.FinalHidden && _model.SupportsFinalHidden,
                Captures = reducer is null ? [] : [reducer],
            }, ct).Sequences[0];

            if (est is not null)
            {
                try
                {
                    var sampled = est.Sample(_model, promptTokens, maxNew, stops, ct);
                    var score = est.Estimate(_model, userText, prompt, promptTokens, answer, sampled, reducer, ConfidenceSource.WhiteBox);
                    extra.Add(new(AttnEvalMetadata.Score, score));
                    extra.Add(new(AttnEvalMetadata.Uncertainty, score.Uncertainty));
                    extra.Add(new(AttnEvalMetadata.Confidence, score.Confidence));
                    extra.Add(new(AttnEvalMetadata.RawConfidence, score.Confidence));
                    extra.Add(new(AttnEvalMetadata.Method, score.Method));
                    extra.Add(new(AttnEvalMetadata.Source, score.Source.ToString()));
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    extra.Add(new(AttnEvalMetadata.Error, $"estimator '{est.Name}' failed: {e.GetType().Name}: {e.Message}"));
                }
            }
        }
        extra.Add(new(AttnEvalMetadata.LogProbs, LogProbs(answer.Scores)));

        var message = new ChatMessage(ChatRole.Assistant, answer.Text) { MessageId = Guid.NewGuid().ToString("N") };
        var response = new ChatResponse(message)
        {
            ResponseId = Guid.NewGuid().ToString("N"),
            ModelId = Metadata.DefaultModelId,
            CreatedAt = DateTimeOffset.UtcNow,
            FinishReason = answer.Finish is FinishReason.Length or FinishReason.ContextFull ? ChatFinishReason.Length : ChatFinishReason.Stop,
            Usage = new UsageDetails
            {
                InputTokenCount = promptTokens.Count,
                OutputTokenCount = answer.Tokens.Count,
                TotalTokenCount = promptTokens.Count + answer.Tokens.Count,
            },
        };
        AttnEvalMetadata.Attach(response, extra);
        return response;
    }

    private List<TokenLogProbability> LogProbs(TokenScores s)
    {
        var tok = _model.Tokenizer;
        var list = new List<TokenLogProbability>(s.Tokens.Count);
        for (int i = 0; i < s.Tokens.Count; i++)
        {
            var top = s.TopK is { } k ? k[i].Select(a => new TokenAlternative(a.Token, tok.TokenText(a.Token), a.LogProb)).ToList() : null;
            list.Add(new TokenLogProbability(s.Tokens[i], tok.TokenText(s.Tokens[i]), s.LogProbs[i], s.Entropies[i], top));
        }
        return list;
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(ChatClientMetadata) ? Metadata
            : serviceType == typeof(ILanguageModel) ? _model
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsModel) _model.Dispose();
    }
}
