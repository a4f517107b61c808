using System.Globalization;
using System.Text.Json.Nodes;
using AttnEval.Abstractions;
using AttnEval.Core.Datasets;
using AttnEval.Core.Plugins;
using AttnEval.Core.Prompts;
using AttnEval.Core.Recipes;
using AttnEval.Core.Reports;
using AttnEval.Core.Runs;

namespace AttnEval.Core.Running;

/// <summary>
/// Runs a <c>head-attribution</c> recipe (DESIGN.md §3): loads the model once, then runs each analysis of <c>metrics:</c>
/// (an <see cref="IHeadAnalysisFactory"/> with its options) with the recipe's dataset items, <c>analysis:</c> settings,
/// prompt template and <c>generation.seed</c>. Each analysis' trial records go to <c>samples.jsonl</c> as
/// <c>{ "id": "&lt;analysis&gt;/&lt;record id&gt;", "analysis": …, … }</c>; its result (a score per head, its summary, the files it
/// wrote) is one final record <c>{ "id": "analysis/&lt;name&gt;", "scores": { "l-h": x }, "summary": …, "artifacts": … }</c>.
/// <c>summary.json</c> is computed from those records alone (held by the run folder as written); the report pipeline renders
/// <c>report.html</c> (top heads, a layer × head heat map, the causal check) from the folder.
/// </summary>
/// <remarks>
/// Resume: an analysis whose final record exists is skipped; an unfinished one runs again with
/// <see cref="HeadAnalysisContext.ResumedRecords"/> holding what it recorded before, so a protocol can skip finished trials.
/// An analysis that throws costs that analysis (its final record carries <c>error</c>), not the run.
/// </remarks>
public sealed class HeadAnalysisRunner(IComponentCatalog catalog, IRunObserver? observer = null)
{
    /// <summary>Prefix of the id of an analysis' final record.</summary>
    public const string ResultIdPrefix = "analysis/";
    private readonly IRunObserver _observer = observer ?? NullRunObserver.Instance;

    /// <summary>Runs (or resumes) the recipe and returns the run folder's path.</summary>
    /// <param name="recipe">A validated recipe of kind <c>head-attribution</c>.</param>
    /// <param name="resumeDir">A run folder to continue, or null for a new run under <c>output.dir</c>.</param>
    /// <param name="cancellationToken">Stops the running analysis; its recorded trials stay in the folder and no summary is written.</param>
    /// <exception cref="RunInputException">Wrong kind, a metric that is not a head analysis, an unreadable dataset, an unavailable device, a model that does not load.</exception>
    /// <exception cref="RunFolderException">The resumed folder belongs to another recipe or model.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public string Run(Recipe recipe, string? resumeDir = null, CancellationToken cancellationToken = default)
    {
        if (recipe.Kind != Kinds.BuiltInKinds.HeadAttribution)
            throw new RunInputException($"{recipe.SourceFile}: kind '{recipe.Kind}' is not run by the head-analysis runner");
        var analyses = recipe.Metrics.Select(m => (m.Name, Analysis: Create(m))).ToList();
        IReadOnlyList<Sample> samples = [];
        if (recipe.Dataset is { } ds)
        {
            try { samples = DatasetReader.Read(ds); }
            catch (Exception e) when (e is InvalidDataException or IOException or KeyNotFoundException) { throw new RunInputException(e.Message, e); }
        }
        var backend = RunSetup.Backend(catalog, recipe);
        var (folder, model) = RunSetup.Open(backend, recipe, resumeDir, analyses.Select(a => (object)a.Analysis), _observer, cancellationToken);
        using (folder)
        using (model)
        {
            var previous = folder.Records.ToList();
            _observer.Started(folder.Path, analyses.Count, analyses.Count(a => folder.FinishedIds.Contains(ResultIdPrefix + a.Name)));
            foreach (var (name, analysis) in analyses)
            {
                if (folder.FinishedIds.Contains(ResultIdPrefix + name)) continue;
                cancellationToken.ThrowIfCancellationRequested();
                _observer.Status($"running {name}");
                var result = new JsonObject { ["id"] = ResultIdPrefix + name, ["analysis"] = name };
                try
                {
                    var r = analysis.Run(Context(recipe, model, samples, folder, name, previous), cancellationToken);
                    var scores = new JsonObject();
                    foreach (var (head, score) in r.Scores.OrderBy(kv => kv.Key))
                        scores[head.ToString()] = double.IsFinite(score) ? score : null;
                    result["scores"] = scores;
                    result["summary"] = JsonSerializerHelpers.ToNode(r.Summary);
                    result["artifacts"] = new JsonArray(r.Artifacts.Select(a => (JsonNode?)a).ToArray());
                    if (r.Conclusion is { } conclusion) result["conclusion"] = conclusion;
                    if (r.Inconclusive is { } why) result["inconclusive"] = why;
                }
                catch (Exception e) when (e is not OperationCanceledException) { result["error"] = RunSetup.Describe(e); }
                folder.Append(result);
                _observer.SampleFinished(name, result["error"] is not null);
            }
        }
        _observer.Status("writing summary.json");
        folder.WriteJson(RunFolder.SummaryFile, Summarize(recipe, folder.Records));
        RunSetup.RecordEnd(folder);
        return folder.Path;
    }

    private IHeadAnalysis Create(MetricSpec m) =>
        catalog.Metrics.TryGetValue(m.Name, out var f) && f is IHeadAnalysisFactory ha
            ? ha.Create(m.Options)
            : throw new RunInputException($"metric '{m.Name}' is a {(f?.Kind.ToString() ?? "missing part")}, not a head analysis; use it in a recipe of its own kind");

    private static HeadAnalysisContext Context(Recipe recipe, ILanguageModel model, IReadOnlyList<Sample> samples, RunFolder folder,
        string name, IReadOnlyList<JsonObject> previous)
    {
        string prefix = name + "/";
        var resumed = previous
            .Where(r => (string?)r["analysis"] == name && ((string?)r["id"])?.StartsWith(prefix, StringComparison.Ordinal) == true)
            .ToDictionary(r => ((string)r["id"]!)[prefix.Length..], r => r.ToJsonString(), StringComparer.Ordinal);
        int counter = 0;
        return new HeadAnalysisContext
        {
            Model = model,
            Samples = samples,
            OutputDirectory = folder.Path,
            Seed = recipe.Generation.Seed,
            Settings = recipe.Analysis,
            RenderPrompt = s => PromptBuilder.Build(recipe.Prompt, s),
            ResumedRecords = resumed,
            Record = rec =>
            {
                var own = JsonSerializerHelpers.IdOf(rec) ?? (counter++).ToString(CultureInfo.InvariantCulture);
                if (!folder.FinishedIds.Contains(prefix + own))
                    folder.Append(JsonSerializerHelpers.Record(rec, ("id", prefix + own), ("analysis", name)));
            },
        };
    }

    /// <summary>Builds <c>summary.json</c> of a head-attribution run from its records: per analysis the number of trial
    /// records, its status (<c>ok</c>, <c>inconclusive</c> with a <c>warning</c>, <c>error</c> or <c>not run</c>), its
    /// <c>conclusion</c> when it gave one, every head's score (null for a head with no score), the top heads (by score,
    /// descending; ties by head id; heads with no score left out), its summary, artifacts or error.</summary>
    public static JsonObject Summarize(Recipe recipe, IReadOnlyList<JsonObject> records)
    {
        var analyses = new JsonObject();
        foreach (var m in recipe.Metrics)
        {
            var node = new JsonObject { ["n_records"] = records.Count(r => (string?)r["analysis"] == m.Name && (string?)r["id"] != ResultIdPrefix + m.Name) };
            var final = records.FirstOrDefault(r => (string?)r["id"] == ResultIdPrefix + m.Name);
            if (final is null) node["status"] = "not run";
            else if (final["error"] is { } err) { node["status"] = "error"; node["error"] = err.DeepClone(); }
            else
            {
                node["status"] = final["inconclusive"] is null ? "ok" : "inconclusive";
                if (final["inconclusive"] is { } why) node["warning"] = why.DeepClone();
                if (final["conclusion"] is { } conclusion) node["conclusion"] = conclusion.DeepClone();
                var scores = final["scores"]!.AsObject();
                node["n_heads"] = scores.Count;
                node["top"] = new JsonArray(scores
                    .Where(kv => kv.Value is not null)
                    .Select(kv => (Head: HeadId.Parse(kv.Key), Score: (double)kv.Value!))
                    .OrderByDescending(x => x.Score).ThenBy(x => x.Head).Take(20)
                    .Select(x => (JsonNode?)new JsonObject { ["head"] = x.Head.ToString(), ["score"] = x.Score }).ToArray());
                node["scores"] = scores.DeepClone();
                node["summary"] = final["summary"]?.DeepClone();
                node["artifacts"] = final["artifacts"]?.DeepClone();
            }
            analyses[m.Name] = node;
        }
        var summary = RunSetup.SummaryHeader(recipe, records, "error");
        summary["seed"] = recipe.Generation.Seed;
        summary["analyses"] = analyses;
        return summary;
    }
}
