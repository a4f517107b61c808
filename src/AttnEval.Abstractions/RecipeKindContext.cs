namespace AttnEval.Abstractions;

/// <summary>What a plugin recipe kind's <see cref="IRecipeKind.Run"/> receives (contract 1.5).</summary>
public sealed record RecipeKindContext
{
    /// <summary>The recipe's <c>name</c>.</summary>
    public required string RecipeName { get; init; }
    /// <summary>The loaded model (the host disposes it after the run).</summary>
    public required ILanguageModel Model { get; init; }
    /// <summary>The dataset items in recipe order (<c>dataset.limit</c> and shuffling applied); empty when the kind takes no dataset.</summary>
    public IReadOnlyList<Sample> Samples { get; init; } = [];
    /// <summary>The recipe's prompt (template and chat format) applied to one item; the item's input when the recipe has none.</summary>
    /// <exception cref="KeyNotFoundException">The template names a field the item lacks.</exception>
    public Func<Sample, string> RenderPrompt { get; init; } = s => s.Input;
    /// <summary>The item's prompt as token ids, encoded as the host's own runners encode it: <see cref="RenderPrompt"/>, then the
    /// model's tokenizer with its BOS added, except when the rendered text already holds the model's special tokens
    /// (<c>prompt.chat: auto</c>, a rendered chat template). Null until the host sets it (it always does for a run).</summary>
    /// <exception cref="KeyNotFoundException">The template names a field the item lacks.</exception>
    public Func<Sample, IReadOnlyList<int>>? EncodePrompt { get; init; }
    /// <summary>The <c>analysis:</c> section validated against <see cref="IRecipeKind.Options"/>, defaults applied.</summary>
    public OptionValues Options { get; init; } = OptionValues.Empty;
    /// <summary>The recipe's <c>metrics:</c>, in order; empty when it has none.</summary>
    public IReadOnlyList<RecipeMetric> Metrics { get; init; } = [];
    /// <summary>The recipe's judge, or null when it names none.</summary>
    public ICorrectnessJudge? Judge { get; init; }
    /// <summary><c>generation.max_new_tokens</c>: the most tokens to generate per answer.</summary>
    public int MaxNewTokens { get; init; } = 256;
    /// <summary><c>generation.stop</c>: stop strings for generated answers.</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];
    /// <summary><c>generation.seed</c>: the seed of every random choice.</summary>
    public long Seed { get; init; }
    /// <summary>The main answer's decoding: <c>generation.temperature</c>, <c>top_p</c>, <c>top_k</c> and <c>seed</c> (greedy by default).
    /// A kind that reads it declares <see cref="RecipeKindInputs.Sampling"/>; otherwise the recipe loader refuses those keys,
    /// so a recipe never sets a decoding the run ignores.</summary>
    public SamplingOptions Sampling { get; init; } = SamplingOptions.Greedy;
    /// <summary>The run folder (full path); files the kind writes go here and are named in <see cref="RecipeKindResult.Artifacts"/>.</summary>
    public required string OutputDirectory { get; init; }
    /// <summary>Appends one record to the run's <c>samples.jsonl</c> (flushed at once). Give each an <c>id</c> that is stable across
    /// attempts (the item's id): a record re-sent with an id already in the folder is not written twice. Values must be
    /// JSON-serialisable (null, bool, numbers, strings, lists and string-keyed maps of those).</summary>
    public Action<IReadOnlyDictionary<string, object?>> Record { get; init; } = _ => { };
    /// <summary>The records an earlier, interrupted attempt of this run wrote, by id, as JSON object text: skip those items and
    /// take their values from here. Empty for a new run.</summary>
    public IReadOnlyDictionary<string, string> ResumedRecords { get; init; } = new Dictionary<string, string>();
    /// <summary>Progress, one report per finished item: (done, total, item id).</summary>
    public IProgress<(int Done, int Total, string Label)>? Progress { get; init; }
}
