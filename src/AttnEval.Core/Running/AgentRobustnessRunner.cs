using System.Globalization;
using System.Net;
using System.Text;
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
/// seed and ECE bins), and <c>report.html</c> the per-condition table.
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
        if (recipe.Kind != RecipeKind.AgentRobustness)
            throw new RunInputException($"{recipe.SourceFile}: kind '{recipe.Kind.ToRecipeName()}' is not run by the agent-robustness runner");
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
            var resumed = RunFolder.ReadSamples(folder.Path)
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
        _observer.Status("writing episodes.jsonl, summary.json and report.html");
        var records = RunFolder.ReadSamples(folder.Path).OrderBy(r => (string?)r["id"], StringComparer.Ordinal).ToList();
        RunFolder.WriteAtomic(Path.Combine(folder.Path, EpisodesFile), string.Concat(records.Select(r => r.ToJsonString() + "\n")));
        var summary = Summarize(recipe, spec.Name, result, records);
        folder.WriteJson(RunFolder.SummaryFile, summary);
        RunFolder.WriteAtomic(Path.Combine(folder.Path, "report.html"), RenderReport(summary));
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

    /// <summary>The HTML report of an agent-robustness summary: the facts and one row per condition (accuracy, ΔAcc with
    /// interval, McNemar p, flips, mislead and abstain rates, AUROC/ECE/ΔAUROC of the confidence). Every text is HTML-escaped.</summary>
    /// <param name="summary">The run's <c>summary.json</c>.</param>
    /// <param name="withFigure">Show <c>plots/robustness-accuracy.png</c> (drawn by the CLI with AttnEval.Reporting).</param>
    /// <param name="withConfidenceFigure">Show <c>plots/robustness-confidence.png</c> (accuracy, mean confidence and ECE per condition).</param>
    public static string RenderReport(JsonObject summary, bool withFigure = false, bool withConfidenceFigure = false)
    {
        static string E(object? s) => WebUtility.HtmlEncode(s?.ToString() ?? "");
        static string F(JsonNode? n) => PairedConditions.Format(n);
        static string Ci(JsonNode? n) => n is null ? "n/a" : n["ci_low"] is null ? F(n["value"]) : $"{F(n["value"])} [{F(n["ci_low"])}, {F(n["ci_high"])}]";
        var sb = new StringBuilder();
        sb.Append("<!doctype html><html><head><meta charset=\"utf-8\"><title>").Append(E(summary["name"])).Append("</title>")
          .Append("<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f4f4f4}td:first-child{text-align:left}</style></head><body>");
        sb.Append("<h1>").Append(E(summary["name"])).Append(" — ").Append(E(summary["evaluation"])).Append("</h1>");
        sb.Append("<p>").Append(E(summary["n_samples"])).Append(" episodes, ").Append(E(summary["n_errors"])).Append(" with errors; model ").Append(E(summary["model"]))
          .Append("; runs per item ").Append(E(summary["analysis"]?["n_runs"])).Append("</p>");
        if (summary["analysis"]?["random_right"] is { } rr)
            sb.Append("<p>RandomRight ").Append(F(rr)).Append(", Pass@2 ").Append(F(summary["analysis"]?["pass_at_2"])).Append("</p>");
        sb.Append("<pre>").Append(E(summary["facts"]?.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }))).Append("</pre>");
        sb.Append("<table><tr><th>condition</th><th>N</th><th>accuracy</th><th>ΔAcc [CI]</th><th>McNemar p</th><th>flip rate [CI]</th><th>harm</th><th>benign</th>")
          .Append("<th>mislead</th><th>abstain</th><th>AUROC</th><th>ECE</th><th>ΔAUROC [CI]</th><th>searches</th><th>support recall</th><th>result overlap</th></tr>");
        foreach (var (name, node) in summary["analysis"]?["conditions"]?.AsObject() ?? [])
        {
            sb.Append("<tr><td>").Append(E(name)).Append("</td><td>").Append(E(node?["n"])).Append("</td><td>").Append(F(node?["accuracy"])).Append("</td><td>")
              .Append(Ci(node?["delta_acc"])).Append("</td><td>").Append(F(node?["mcnemar"]?["p_value"])).Append("</td><td>").Append(Ci(node?["flip_rate"]))
              .Append("</td><td>").Append(F(node?["harm_flip"])).Append("</td><td>").Append(F(node?["ben_flip"])).Append("</td><td>").Append(F(node?["mislead_rate"]))
              .Append("</td><td>").Append(F(node?["abstain"])).Append("</td><td>").Append(F(node?["auroc"])).Append("</td><td>").Append(F(node?["ece"]))
              .Append("</td><td>").Append(Ci(node?["delta_auroc"])).Append("</td><td>").Append(F(node?["stats"]?["searches"])).Append("</td><td>")
              .Append(F(node?["stats"]?["support_recall"])).Append("</td><td>").Append(F(node?["stats"]?["result_overlap"])).Append("</td></tr>");
        }
        sb.Append("</table>");
        if (withFigure)
            sb.Append("<p><img src=\"plots/robustness-accuracy.png\" alt=\"accuracy drop per condition\"></p>");
        if (withConfidenceFigure)
            sb.Append("<p><img src=\"plots/robustness-confidence.png\" alt=\"accuracy, mean confidence and ECE per condition\"></p>");
        sb.Append("<p>Episodes with every tool call, result and answer: <code>").Append(EpisodesFile).Append("</code>. ΔAcc = Acc(reference) − Acc(condition) over paired episodes; ")
          .Append("intervals are paired percentile bootstraps over pairs; McNemar is exact two-sided.</p></body></html>");
        return sb.ToString();
    }

    private sealed class SyncProgress(Action<(int Done, int Total, string Label)> report) : IProgress<(int Done, int Total, string Label)>
    {
        public void Report((int Done, int Total, string Label) value) => report(value);
    }
}
