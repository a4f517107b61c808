using System.Text.Json.Nodes;
using AttnEval.Abstractions;
using AttnEval.Core.Datasets;
using AttnEval.Core.Evaluation;
using AttnEval.Core.Plugins;
using AttnEval.Core.Prompts;
using AttnEval.Core.Recipes;
using AttnEval.Core.Runs;

namespace AttnEval.Core.Running;

/// <summary>
/// Runs an <c>agent-robustness</c> recipe: loads the model once and hands the recipe's agent evaluation (an
/// <see cref="IAgentEvaluationFactory"/> named in <c>metrics:</c>, exactly one) the dataset items, <c>analysis:</c>
/// settings, prompt template, generation settings and the host's agent services. Each episode it records goes to
/// <c>samples.jsonl</c> (flushed; a resumed run skips recorded episodes); at the end <c>episodes.jsonl</c> holds every
/// episode ordered by id, <c>summary.json</c> the evaluation's facts and the paired per-condition analysis
/// (<see cref="PairedConditions"/>, computed from the records alone with the recipe's <c>evaluation:</c> bootstrap, level,
/// seed and ECE bins); the report pipeline renders <c>report.html</c> (the per-condition table) from them.
/// </summary>
/// <param name="catalog">The component catalog.</param>
/// <param name="observer">Progress display, or null.</param>
/// <param name="agentServices">Host services handed to the evaluation (<see cref="AgentEvaluationContext.Services"/>), or null.</param>
public sealed class AgentRobustnessRunner(IComponentCatalog catalog, IRunObserver? observer = null, IServiceProvider? agentServices = null)
{
    /// <summary>The episode log written at the end of a run.</summary>
    public const string EpisodesFile = "episodes.jsonl";
    private readonly IRunObserver _observer = observer ?? NullRunObserver.Instance;

    /// <summary>Runs (or resumes) the recipe and returns the run folder's path.</summary>
    /// <exception cref="RunInputException">Wrong kind, not exactly one agent evaluation in <c>metrics:</c>, a bad option, an
    /// unreadable dataset, an unavailable device, a model that does not load, or an evaluation that rejects its input.</exception>
    /// <exception cref="RunFolderException">The resumed folder belongs to another recipe or model.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; recorded episodes stay.</exception>
    public string Run(Recipe recipe, string? resumeDir = null, CancellationToken cancellationToken = default)
    {
        if (recipe.Kind != Kinds.BuiltInKinds.AgentRobustness)
            throw new RunInputException($"{recipe.SourceFile}: kind '{recipe.Kind}' is not run by the agent-robustness runner");
        var agents = recipe.Metrics.Where(m => catalog.Metrics.GetValueOrDefault(m.Name) is IAgentEvaluationFactory).ToList();
        var others = recipe.Metrics.Except(agents).Select(m => m.Name).ToList();
        if (agents.Count != 1 || others.Count > 0)
            throw new RunInputException($"{recipe.SourceFile}: metrics: kind 'agent-robustness' takes exactly one agent evaluation " +
                $"({string.Join(", ", catalog.Metrics.Values.OfType<IAgentEvaluationFactory>().Select(f => f.Name).Order(StringComparer.Ordinal))}); got " +
                (recipe.Metrics.Count == 0 ? "none" : string.Join(", ", recipe.Metrics.Select(m => m.Name))));
        var spec = agents[0];
        IAgentEvaluation evaluation;
        try { evaluation = ((IAgentEvaluationFactory)catalog.Metrics[spec.Name]).Create(spec.Options); }
        catch (ArgumentException e) { throw new RunInputException($"{recipe.SourceFile}: {e.Message}", e); }
        IReadOnlyList<Sample> samples = [];
        if (recipe.Dataset is { } ds)
        {
            try { samples = DatasetReader.Read(ds); }
            catch (Exception e) when (e is InvalidDataException or IOException or KeyNotFoundException) { throw new RunInputException(e.Message, e); }
        }
        var backend = RunSetup.Backend(catalog, recipe);
        var (folder, model) = RunSetup.Open(backend, recipe, resumeDir, [evaluation], _observer, cancellationToken);
        AgentEvaluationResult result;
        using (folder)
        using (model)
        {
            var resumed = folder.Records
                .Where(r => (string?)r["id"] is not null && r["error"] is null)
                .ToDictionary(r => (string)r["id"]!, r => r.ToJsonString(), StringComparer.Ordinal);
            bool started = false;
            var context = new AgentEvaluationContext
            {
                Model = model,
                Samples = samples,
                OutputDirectory = folder.Path,
                Seed = recipe.Generation.Seed,
                MaxNewTokens = recipe.Generation.MaxNewTokens,
                Temperature = recipe.Generation.Temperature,
                Settings = recipe.Analysis,
                RenderPrompt = s => PromptBuilder.Build(recipe.Prompt, s),
                ResumedRecords = resumed,
                Services = agentServices,
                Record = rec =>
                {
                    var node = new JsonObject();
                    foreach (var (k, v) in rec) node[k] = JsonSerializerHelpers.ToNode(v);
                    var id = (string?)node["id"] ?? throw new InvalidOperationException($"{spec.Name}: an episode record has no id");
                    if (!resumed.ContainsKey(id)) folder.Append(node);
                    _observer.SampleFinished(id, node["error"] is not null);
                },
                Progress = new SyncProgress(p =>
                {
                    if (started) return;
                    started = true;
                    _observer.Started(folder.Path, p.Total, resumed.Count);
                }),
            };
            _observer.Status($"running {spec.Name}");
            try { result = evaluation.Run(context, cancellationToken); }
            catch (InvalidDataException e) { throw new RunInputException($"{recipe.SourceFile}: {spec.Name}: {e.Message}", e); }
        }
        _observer.Status("writing episodes.jsonl and summary.json");
        var records = folder.Records.OrderBy(r => (string?)r["id"], StringComparer.Ordinal).ToList();
        RunFolder.WriteAtomic(Path.Combine(folder.Path, EpisodesFile), string.Concat(records.Select(r => r.ToJsonString() + "\n")));
        var summary = Summarize(recipe, spec.Name, result, records);
        folder.WriteJson(RunFolder.SummaryFile, summary);
        RunSetup.RecordEnd(folder);
        return folder.Path;
    }

    /// <summary>Builds <c>summary.json</c>: the analysis header, the evaluation's name, reference, conditions, facts and
    /// artifacts, and the paired analysis of the episode records.</summary>
    public static JsonObject Summarize(Recipe recipe, string evaluation, AgentEvaluationResult result, IReadOnlyList<JsonObject> records)
    {
        var episodes = records.Select(PairedEpisode.FromRecord).OfType<PairedEpisode>().ToList();
        var options = new EvaluationOptions
        {
            BootstrapResamples = recipe.Evaluation.Bootstrap, ConfidenceLevel = recipe.Evaluation.ConfidenceLevel,
            Seed = recipe.Evaluation.Seed, EceBins = recipe.Evaluation.EceBins,
        };
        var summary = RunSetup.SummaryHeader(recipe, records, "error");
        summary["evaluation"] = evaluation;
        summary["seed"] = recipe.Generation.Seed;
        summary["facts"] = JsonSerializerHelpers.ToNode(result.Summary);
        summary["artifacts"] = new JsonArray([.. result.Artifacts.Append(EpisodesFile).Select(a => (JsonNode?)a)]);
        summary["bootstrap"] = new JsonObject { ["resamples"] = options.BootstrapResamples, ["level"] = options.ConfidenceLevel, ["seed"] = options.Seed, ["ece_bins"] = options.EceBins };
        summary["analysis"] = PairedConditions.Analyze(episodes, result.ReferenceCondition, result.Conditions, options);
        return summary;
    }

    /// <summary>The HTML report of an agent-robustness summary (<see cref="Reports.RobustnessReport"/>): verdicts per
    /// condition, the accuracy and the confidence tables, the figures and the run's setup. Every text is HTML-escaped.</summary>
    /// <param name="summary">The run's <c>summary.json</c>.</param>
    /// <param name="withFigure">Show <c>plots/robustness-accuracy.svg</c> (drawn by the CLI with AttnEval.Reporting).</param>
    /// <param name="withConfidenceFigure">Show <c>plots/robustness-confidence.svg</c> (accuracy, mean confidence and ECE per condition).</param>
    public static string RenderReport(JsonObject summary, bool withFigure = false, bool withConfidenceFigure = false) =>
        Reports.RobustnessReport.Render(summary, withFigure, withConfidenceFigure);

    private sealed class SyncProgress(Action<(int Done, int Total, string Label)> report) : IProgress<(int Done, int Total, string Label)>
    {
        public void Report((int Done, int Total, string Label) value) => report(value);
    }
}
