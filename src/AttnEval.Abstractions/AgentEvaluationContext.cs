namespace AttnEval.Abstractions;

/// <summary>Inputs of an agent evaluation.</summary>
/// <remarks>
/// <para><b>Episode records.</b> Each record given to <see cref="Record"/> is one episode and must carry the keys the
/// host's paired analysis reads: <c>id</c> (unique, stable across runs), <c>condition</c> (string; the reference
/// condition is <see cref="AgentEvaluationResult.ReferenceCondition"/>), <c>pair</c> (string: the same value for the
/// episodes of one item and run under every condition, e.g. <c>"qid#run"</c>), <c>correct</c> (bool), <c>pred</c>
/// (string, the normalised answer; empty when none), and optionally <c>confidence</c> (number in [0, 1] or null),
/// <c>misled</c> (bool: the answer matches an injected misleading answer), <c>abstained</c> (bool) and <c>stats</c>
/// (a map of numbers, averaged per condition: searches, turns, tokens, support recall, ...). Anything else is kept
/// verbatim in the run's episode log.</para>
/// </remarks>
public sealed record AgentEvaluationContext
{
    /// <summary>The recipe's model (the local agent, or a proxy for a remote one).</summary>
    public required ILanguageModel Model { get; init; }
    /// <summary>The recipe's dataset items (empty when the recipe has none).</summary>
    public IReadOnlyList<Sample> Samples { get; init; } = [];
    /// <summary>The run folder; extra files go here.</summary>
    public required string OutputDirectory { get; init; }
    /// <summary><c>generation.seed</c>: the base of every per-episode seed.</summary>
    public long Seed { get; init; }
    /// <summary><c>generation.max_new_tokens</c>: new tokens per model turn, ≥ 1.</summary>
    public int MaxNewTokens { get; init; } = 256;
    /// <summary><c>generation.temperature</c>: 0 = greedy.</summary>
    public double Temperature { get; init; }
    /// <summary>The recipe's free-form <c>analysis:</c> map (null, bool, long, double, string, lists and maps of those).</summary>
    public IReadOnlyDictionary<string, object?> Settings { get; init; } = new Dictionary<string, object?>();
    /// <summary>Renders the recipe's prompt template for one item; by default the item's input.</summary>
    public Func<Sample, string> RenderPrompt { get; init; } = s => s.Input;
    /// <summary>Appends one episode record to the run log (flushed); see the remarks for its keys. A record whose id is
    /// already in <see cref="ResumedRecords"/> is not written twice.</summary>
    public Action<IReadOnlyDictionary<string, object?>> Record { get; init; } = _ => { };
    /// <summary>Episodes recorded by an earlier, interrupted attempt of the same run, by id, as JSON object text.</summary>
    public IReadOnlyDictionary<string, string> ResumedRecords { get; init; } = new Dictionary<string, string>();
    /// <summary>Progress: (done, total, label).</summary>
    public IProgress<(int Done, int Total, string Label)>? Progress { get; init; }
    /// <summary>Host services for agent pipelines, or null. The AttnEval host registers a
    /// <c>Func&lt;Microsoft.Extensions.AI.IChatClient, Microsoft.Extensions.AI.IChatClient&gt;</c> that adds its
    /// confidence middleware (flag policy), which an evaluation puts around its agent's chat client.</summary>
    public IServiceProvider? Services { get; init; }
}
