namespace AttnEval.Abstractions;

/// <summary>The three kinds of metric (DESIGN.md §4).</summary>
public enum MetricKind
{
    /// <summary>A scalar uncertainty per sample (higher = less trustworthy), optionally a confidence in [0, 1].</summary>
    SampleEstimator,
    /// <summary>A score per attention head for a whole model.</summary>
    HeadAnalysis,
    /// <summary>A score per document of a corpus.</summary>
    DataScorer,
    /// <summary>An agent evaluation: episodes of an agent loop under clean and perturbed conditions (<see cref="IAgentEvaluationFactory"/>).</summary>
    AgentEvaluation,
}

/// <summary>What a metric needs from a run, so that each thing is computed once for all metrics.</summary>
[Flags]
public enum MetricNeeds
{
    /// <summary>Nothing beyond the answer text.</summary>
    None = 0,
    /// <summary>Per-token log-probabilities and entropies of the answer.</summary>
    TokenScores = 1,
    /// <summary>Attention rows through an <see cref="IAttentionRowReducer"/> during generation.</summary>
    AttentionRows = 2,
    /// <summary>Several sampled answers to the same prompt (<c>generation.samples</c>).</summary>
    SampledAnswers = 4,
    /// <summary>A sentence-similarity model.</summary>
    SentenceSimilarity = 8,
    /// <summary>Extra model calls (Score/Generate) made by the metric itself.</summary>
    ModelCalls = 16,
}

/// <summary>Type of a metric option value in a recipe.</summary>
public enum OptionType
{
    /// <summary>A whole number.</summary>
    Integer,
    /// <summary>A real number.</summary>
    Number,
    /// <summary>true/false.</summary>
    Boolean,
    /// <summary>A string (optionally one of <see cref="OptionSpec.AllowedValues"/>).</summary>
    String,
    /// <summary>A list of strings.</summary>
    StringList,
    /// <summary>A list of whole numbers.</summary>
    IntegerList,
    /// <summary>A list of real numbers.</summary>
    NumberList,
    /// <summary>A path to an existing file. The recipe loader resolves it like <c>dataset.path</c> (working directory
    /// first, then the folder of the recipe file that wrote it), refuses a missing file at its <c>file:line:col</c>
    /// before any model loads, and hands the metric the full path. Values in <see cref="OptionSpec.AllowedValues"/>
    /// are keywords accepted as they are instead of a path (e.g. <c>dataset</c>). Added in contract 1.1.</summary>
    FilePath,
    /// <summary>A path to an existing folder, resolved and checked like <see cref="FilePath"/>. Added in contract 1.1.</summary>
    FolderPath,
}

/// <summary>One option a metric or judge accepts in a recipe; the recipe validator checks type and range before any model loads.</summary>
/// <param name="Key">The key, snake_case (e.g. <c>top_heads</c>).</param>
/// <param name="Type">Its type.</param>
/// <param name="Default">Default value (boxed int/double/bool/string/list), or null when required/absent.</param>
/// <param name="Description">One line: meaning, unit, and source (paper § / spec §).</param>
public sealed record OptionSpec(string Key, OptionType Type, object? Default, string Description)
{
    /// <summary>Inclusive lower bound for numbers, or null.</summary>
    public double? Min { get; init; }
    /// <summary>Inclusive upper bound for numbers, or null.</summary>
    public double? Max { get; init; }
    /// <summary>Allowed values for strings (for <see cref="OptionType.FilePath"/>/<see cref="OptionType.FolderPath"/>:
    /// keywords accepted instead of a path), or null for any.</summary>
    public IReadOnlyList<string>? AllowedValues { get; init; }
    /// <summary>True when the recipe must set it.</summary>
    public bool Required { get; init; }
}

/// <summary>
/// Validated option values for one metric or judge, with defaults applied. Values are boxed
/// <see cref="long"/>, <see cref="double"/>, <see cref="bool"/>, <see cref="string"/> or lists of those.
/// </summary>
public sealed class OptionValues
{
    private readonly IReadOnlyDictionary<string, object?> _values;

    /// <summary>Wraps already-validated values.</summary>
    public OptionValues(IReadOnlyDictionary<string, object?> values) => _values = values;

    /// <summary>No options.</summary>
    public static OptionValues Empty { get; } = new(new Dictionary<string, object?>());

    /// <summary>All values by key.</summary>
    public IReadOnlyDictionary<string, object?> Values => _values;

    /// <summary>True when the key has a non-null value.</summary>
    public bool Has(string key) => _values.TryGetValue(key, out var v) && v is not null;

    /// <summary>An integer option.</summary>
    /// <exception cref="KeyNotFoundException">The key is absent and no fallback was given.</exception>
    public int GetInt(string key, int? fallback = null) => Get(key, fallback, v => Convert.ToInt32(v, System.Globalization.CultureInfo.InvariantCulture));
    /// <summary>A real option.</summary>
    public double GetDouble(string key, double? fallback = null) => Get(key, fallback, v => Convert.ToDouble(v, System.Globalization.CultureInfo.InvariantCulture));
    /// <summary>A boolean option.</summary>
    public bool GetBool(string key, bool? fallback = null) => Get(key, fallback, v => (bool)v);
    /// <summary>A string option.</summary>
    public string GetString(string key, string? fallback = null) =>
        _values.TryGetValue(key, out var v) && v is not null ? Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)! :
        fallback ?? throw new KeyNotFoundException($"option '{key}' is not set");
    /// <summary>A list option as strings.</summary>
    public IReadOnlyList<string> GetStringList(string key) =>
        _values.TryGetValue(key, out var v) && v is System.Collections.IEnumerable e && v is not string
            ? e.Cast<object?>().Select(x => Convert.ToString(x, System.Globalization.CultureInfo.InvariantCulture) ?? "").ToList()
            : [];

    private T Get<T>(string key, T? fallback, Func<object, T> convert) where T : struct =>
        _values.TryGetValue(key, out var v) && v is not null ? convert(v) :
        fallback ?? throw new KeyNotFoundException($"option '{key}' is not set");
}

/// <summary>Describes a named part a plugin exports (a metric or a judge): its recipe name and options.</summary>
public interface IComponentFactory
{
    /// <summary>The name used in recipes, kebab-case (e.g. <c>mean-token-entropy</c>).</summary>
    string Name { get; }
    /// <summary>One-line description with the source paper.</summary>
    string Description { get; }
    /// <summary>The options it accepts; any other key in a recipe is rejected.</summary>
    IReadOnlyList<OptionSpec> Options { get; }
}

/// <summary>Factory of a metric of any kind.</summary>
public interface IMetricFactory : IComponentFactory
{
    /// <summary>The kind of result.</summary>
    MetricKind Kind { get; }
}

/// <summary>Factory of a per-sample estimator.</summary>
public interface ISampleEstimatorFactory : IMetricFactory
{
    /// <summary>Creates the estimator with validated options. Also called once by the recipe loader to check the options (so <c>validate</c>
    /// reports them before any model loads): keep it cheap and free of side effects, and refuse what only the plugin can
    /// check with an <see cref="ArgumentException"/> whose message names the option, e.g.
    /// <c>metrics.&lt;name&gt;.&lt;key&gt;: …</c>.</summary>
    /// <exception cref="ArgumentException">An option value the plugin cannot use.</exception>
    ISampleEstimator Create(OptionValues options);
}

/// <summary>Factory of a model-level head analysis.</summary>
public interface IHeadAnalysisFactory : IMetricFactory
{
    /// <summary>Creates the analysis with validated options. Also called once by the recipe loader to check the options (so <c>validate</c>
    /// reports them before any model loads): keep it cheap and free of side effects, and refuse what only the plugin can
    /// check with an <see cref="ArgumentException"/> whose message names the option, e.g.
    /// <c>metrics.&lt;name&gt;.&lt;key&gt;: …</c>.</summary>
    /// <exception cref="ArgumentException">An option value the plugin cannot use.</exception>
    IHeadAnalysis Create(OptionValues options);
}

/// <summary>Factory of a per-document data scorer.</summary>
public interface IDataScorerFactory : IMetricFactory
{
    /// <summary>Creates the scorer with validated options. Also called once by the recipe loader to check the options (so <c>validate</c>
    /// reports them before any model loads): keep it cheap and free of side effects, and refuse what only the plugin can
    /// check with an <see cref="ArgumentException"/> whose message names the option, e.g.
    /// <c>metrics.&lt;name&gt;.&lt;key&gt;: …</c>.</summary>
    /// <exception cref="ArgumentException">An option value the plugin cannot use.</exception>
    IDataScorer Create(OptionValues options);
}

/// <summary>Factory of a correctness judge.</summary>
public interface IJudgeFactory : IComponentFactory
{
    /// <summary>Creates the judge with validated options.</summary>
    ICorrectnessJudge Create(OptionValues options);
}

/// <summary>The result of one estimator on one sample.</summary>
/// <param name="Uncertainty">Uncertainty, higher = less trustworthy; finite.</param>
/// <param name="Confidence">Optional confidence in [0, 1] (probability-like), used by ECE/Brier; null when the method has none.</param>
public sealed record SampleEstimate(double Uncertainty, double? Confidence = null)
{
    /// <summary>Optional method-specific details written to the sample record (small, JSON-serialisable).</summary>
    public IReadOnlyDictionary<string, object?>? Details { get; init; }
}

/// <summary>Everything an estimator may read for one sample.</summary>
public sealed record EstimationContext
{
    /// <summary>The model (for estimators that declare <see cref="MetricNeeds.ModelCalls"/>).</summary>
    public required ILanguageModel Model { get; init; }
    /// <summary>The sample.</summary>
    public required Sample Sample { get; init; }
    /// <summary>The rendered prompt text.</summary>
    public required string Prompt { get; init; }
    /// <summary>The prompt's token ids.</summary>
    public required IReadOnlyList<int> PromptTokens { get; init; }
    /// <summary>The answer being judged (greedy or the recipe's main decoding).</summary>
    public required GeneratedSequence Answer { get; init; }
    /// <summary>Sampled answers to the same prompt (empty unless some metric needs them).</summary>
    public IReadOnlyList<GeneratedSequence> SampledAnswers { get; init; } = [];
    /// <summary>The reducer this estimator created for this sample, after it received the answer's rows; null if none.</summary>
    public IAttentionRowReducer? Reducer { get; init; }
    /// <summary>The sentence-similarity model when declared.</summary>
    public ISentenceSimilarity? Similarity { get; init; }
}

/// <summary>What an estimator wants the judged answer's generation to return (<see cref="ISampleEstimator.AnswerOutputs"/>).
/// Added in contract 1.4.</summary>
/// <param name="TopLogProbs">Top alternatives per generated token, ≥ 0 (0 = none).</param>
/// <param name="FinalHidden">The final normalised hidden state of every fed position (<see cref="GenerationRequest.CaptureFinalHidden"/>).</param>
public readonly record struct AnswerOutputs(int TopLogProbs = 0, bool FinalHidden = false);

/// <summary>A per-sample uncertainty estimator (UQAC, SAR, MSP, ...).</summary>
public interface ISampleEstimator
{
    /// <summary>What it needs; the runner computes each thing once for all estimators.</summary>
    MetricNeeds Needs { get; }

    /// <summary>Creates this sample's attention reducer, called before generation when
    /// <see cref="Needs"/> has <see cref="MetricNeeds.AttentionRows"/>; otherwise return null.</summary>
    /// <param name="model">The model's shape.</param>
    /// <param name="promptLength">Number of prompt tokens; generated positions follow it.</param>
    IAttentionRowReducer? CreateReducer(ModelInfo model, int promptLength);

    /// <summary>Computes the estimate.</summary>
    /// <exception cref="Exception">Any exception costs this sample's value only (recorded as an error).</exception>
    SampleEstimate Estimate(EstimationContext context);

    /// <summary>What the judged answer's generation should return besides its token scores, so that the estimator needs no
    /// second pass over prompt + answer: top alternatives per step (<see cref="TokenScores.TopK"/>) and the final hidden
    /// states (<see cref="GenerationRequest.CaptureFinalHidden"/>). The host asks for the largest top-k and for hidden
    /// states when any estimator wants them (and the model supports them); an estimator must still check what
    /// <see cref="EstimationContext.Answer"/> holds, since a backend may not deliver them. The default asks for nothing.
    /// Added in contract 1.4.</summary>
    AnswerOutputs AnswerOutputs => default;

    /// <summary>Estimates of several samples (a batch of questions the host generated together), element i for
    /// <c>contexts[i]</c>, so that an estimator that calls the model can batch those calls across questions (UQAC scores
    /// every question's teacher-forced pass in one <see cref="ILanguageModel.ScoreBatch"/>, then every variant in another).
    /// Must give what <see cref="Estimate"/> gives for each. When it throws, the host calls <see cref="Estimate"/> for each
    /// sample, so an error costs only its sample's value. The default calls <see cref="Estimate"/> for each. Added in
    /// contract 1.3.</summary>
    IReadOnlyList<SampleEstimate> EstimateBatch(IReadOnlyList<EstimationContext> contexts)
    {
        ArgumentNullException.ThrowIfNull(contexts);
        return contexts.Select(Estimate).ToList();
    }
}

/// <summary>Sentence similarity (e.g. cosine of sentence embeddings), used by SAR and semantic estimators.</summary>
public interface ISentenceSimilarity
{
    /// <summary>Name of the model.</summary>
    string Name { get; }
    /// <summary>Similarity of two texts, in [-1, 1] (cosine) or [0, 1] (probability), stated by the implementation.</summary>
    double Similarity(string a, string b);

    /// <summary>The similarity of <paramref name="reference"/> to each of <paramref name="others"/> (element i equals
    /// <c>Similarity(reference, others[i])</c>), so that a model can embed them in batches: TokenSAR compares an answer with
    /// each of its one-token-removed variants (uq-methods §2.1). The default calls <see cref="Similarity"/> for each.
    /// Added in contract 1.3.</summary>
    IReadOnlyList<double> Similarities(string reference, IReadOnlyList<string> others)
    {
        ArgumentNullException.ThrowIfNull(others);
        var result = new double[others.Count];
        for (int i = 0; i < others.Count; i++) result[i] = Similarity(reference, others[i]);
        return result;
    }
}

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

/// <summary>The result of a head analysis.</summary>
/// <param name="Scores">A score per head (higher = more of the function).</param>
public sealed record HeadAnalysisResult(IReadOnlyDictionary<HeadId, double> Scores)
{
    /// <summary>Scalar results for <c>summary.json</c> (e.g. ablation accuracies).</summary>
    public IReadOnlyDictionary<string, object?> Summary { get; init; } = new Dictionary<string, object?>();
    /// <summary>File names written into the run folder.</summary>
    public IReadOnlyList<string> Artifacts { get; init; } = [];
    /// <summary>One line stating what the result concludes, as a reader of <c>summary.json</c> would put it (e.g. the
    /// ablation check's verdict, or that a head set is degenerate); the host stores it as the analysis' <c>conclusion</c>
    /// and <c>attneval run</c> prints it. Null when the analysis draws no conclusion beyond its scores. Added in contract 1.2.</summary>
    public string? Conclusion { get; init; }
    /// <summary>Why the result supports no finding although the analysis ran, or null when it does: e.g. no trial
    /// succeeded, so no head has a score (n = 0; such heads' <see cref="Scores"/> are <see cref="double.NaN"/>, stored as
    /// null). The host marks the analysis <c>inconclusive</c> (not <c>ok</c>) in <c>summary.json</c> with this as its
    /// <c>warning</c>, and <c>attneval run</c> prints it and exits 1. Added in contract 1.2.</summary>
    public string? Inconclusive { get; init; }
}

/// <summary>A model-level analysis that scores every head (retrieval heads, safety heads).</summary>
public interface IHeadAnalysis
{
    /// <summary>Runs the protocol.</summary>
    HeadAnalysisResult Run(HeadAnalysisContext context, CancellationToken cancellationToken = default);
}

/// <summary>A per-document scorer (AttentionInfluence). The host scores documents in batches (<see cref="ScoreBatch"/>) and
/// records each one as soon as its batch is done, so a run resumes per document.</summary>
public interface IDataScorer
{
    /// <summary>One-time preparation on the model (e.g. detecting retrieval heads); called before the first document.</summary>
    void Prepare(ILanguageModel model, string outputDirectory, CancellationToken cancellationToken = default);

    /// <summary>Scores one document; higher = more valuable. <see cref="SampleEstimate.Uncertainty"/> carries the score;
    /// a string <c>group</c> entry in <see cref="SampleEstimate.Details"/> names the document's selection group (e.g. its domain).</summary>
    SampleEstimate Score(ILanguageModel model, Sample document, CancellationToken cancellationToken = default);

    /// <summary>Scores several documents (element i for <c>documents[i]</c>), so that a scorer can batch its model calls
    /// across documents (AttentionInfluence scores every chunk of a batch in one <see cref="ILanguageModel.ScoreBatch"/>
    /// without and one with its heads masked). Must give what <see cref="Score"/> gives for each. When it throws, the host
    /// calls <see cref="Score"/> for each document, so an error costs only its document; a scorer must therefore not keep
    /// state from a batch that throws. The default calls <see cref="Score"/> for each. Added in contract 1.4.</summary>
    IReadOnlyList<SampleEstimate> ScoreBatch(ILanguageModel model, IReadOnlyList<Sample> documents, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(documents);
        return documents.Select(d => Score(model, d, cancellationToken)).ToList();
    }

    /// <summary>Chooses the selected subset once every document is scored (e.g. the top 20 % per domain, Hua et al. 2025 §3).
    /// Called once at the end of a run, including a resumed one, with every scored document of the run; the host then writes
    /// the selected documents. The default selects nothing. Added in contract 1.x (additive, default implementation).</summary>
    /// <param name="scored">Every successfully scored document: id, group (or null) and score.</param>
    /// <param name="outputDirectory">The run folder, for extra files.</param>
    DataSelection Select(IReadOnlyList<ScoredDocument> scored, string outputDirectory) => DataSelection.None;
}

/// <summary>A scored document as handed to <see cref="IDataScorer.Select"/>.</summary>
/// <param name="Id">The document's sample id.</param>
/// <param name="Group">Its selection group (the <c>group</c> detail of its score), or null.</param>
/// <param name="Score">Its score (higher = more valuable); finite.</param>
public sealed record ScoredDocument(string Id, string? Group, double Score);

/// <summary>The subset a data scorer selects.</summary>
/// <param name="SelectedIds">Ids of the selected documents.</param>
public sealed record DataSelection(IReadOnlySet<string> SelectedIds)
{
    /// <summary>Nothing selected.</summary>
    public static DataSelection None { get; } = new(new HashSet<string>());

    /// <summary>Scalar results for <c>summary.json</c> (e.g. selected counts and score thresholds per group).</summary>
    public IReadOnlyDictionary<string, object?> Summary { get; init; } = new Dictionary<string, object?>();

    /// <summary>File names the scorer wrote into the run folder.</summary>
    public IReadOnlyList<string> Artifacts { get; init; } = [];
}
