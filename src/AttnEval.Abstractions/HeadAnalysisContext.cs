namespace AttnEval.Abstractions;

/// <summary>Inputs of a model-level head analysis.</summary>
public sealed record HeadAnalysisContext
{
    /// <summary>The model.</summary>
    public required ILanguageModel Model { get; init; }
    /// <summary>The recipe's dataset items (may be empty when the protocol builds its own probes).</summary>
    public IReadOnlyList<Sample> Samples { get; init; } = [];
    /// <summary>The run folder; analysis files (e.g. <c>heads.json</c>) go here.</summary>
    public required string OutputDirectory { get; init; }
    /// <summary>Seed for every random choice.</summary>
    public long Seed { get; init; }
    /// <summary>Appends one record to the run's <c>samples.jsonl</c> (flushed). Keys must be JSON-serialisable.</summary>
    public Action<IReadOnlyDictionary<string, object?>> Record { get; init; } = _ => { };
    /// <summary>Progress: (done, total, label).</summary>
    public IProgress<(int Done, int Total, string Label)>? Progress { get; init; }

    /// <summary>The recipe's free-form <c>analysis:</c> map (values: null, bool, long, double, string, lists and maps of those);
    /// empty when the recipe has none. Added in contract 1.x (additive).</summary>
    public IReadOnlyDictionary<string, object?> Settings { get; init; } = new Dictionary<string, object?>();

    /// <summary>Renders the recipe's prompt template (and chat format) for one dataset item; by default the item's input.
    /// Throws <see cref="KeyNotFoundException"/> when the template names a field the item lacks.</summary>
    public Func<Sample, string> RenderPrompt { get; init; } = s => s.Input;

    /// <summary>Records this analysis wrote through <see cref="Record"/> in an earlier, interrupted attempt of the same run,
    /// by the <c>id</c> the analysis gave them, as JSON object text. A protocol may reuse them to skip finished trials
    /// (resume below analysis granularity); records re-sent with an id already present are not written twice.</summary>
    public IReadOnlyDictionary<string, string> ResumedRecords { get; init; } = new Dictionary<string, string>();
}
