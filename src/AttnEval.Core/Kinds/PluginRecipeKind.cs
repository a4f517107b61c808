using System.Text.Json.Nodes;
using AttnEval.Abstractions;
using AttnEval.Core.Datasets;
using AttnEval.Core.Prompts;
using AttnEval.Core.Reports;
using AttnEval.Core.Runs;
using AttnEval.Core.Running;

namespace AttnEval.Core.Kinds;

/// <summary>
/// A recipe kind a plugin brings (<see cref="IRecipeKind"/>, contract 1.5) as the host runs it: the recipe sections follow its
/// <see cref="IRecipeKind.Inputs"/>, <c>analysis:</c> is validated against its <see cref="IRecipeKind.Options"/>; a run loads the
/// model, opens (or resumes) the run folder, hands the kind its context, and writes <c>summary.json</c> from the result it returns:
/// <c>{ schema_version, name, kind, model, n_samples, n_errors, status, conclusion?, warning?, artifacts, result }</c>, where
/// <c>n_samples</c> counts the folder's records (those of earlier attempts and this one, counted as they were written, never
/// re-read) and <c>status</c> is <c>ok</c> or <c>inconclusive</c>.
/// </summary>
public sealed class PluginRecipeKind : RecipeKindDescriptor
{
    private readonly IRecipeKind _kind;
    private readonly string _owner;

    /// <summary>Adapts a plugin's kind.</summary>
    /// <param name="kind">The plugin's export.</param>
    /// <param name="owner">The plugin's name, shown by <c>attneval list</c> and in the report.</param>
    public PluginRecipeKind(IRecipeKind kind, string owner)
    {
        _kind = kind ?? throw new ArgumentNullException(nameof(kind));
        _owner = owner;
    }

    /// <summary>The plugin's export.</summary>
    public IRecipeKind Kind => _kind;
    /// <inheritdoc />
    public override string Name => _kind.Name;
    /// <inheritdoc />
    public override string Description => _kind.Description;
    /// <inheritdoc />
    public override string Owner => _owner;
    /// <inheritdoc />
    public override DatasetUse Dataset => _kind.Inputs.HasFlag(RecipeKindInputs.Dataset) ? DatasetUse.Required : DatasetUse.None;
    /// <inheritdoc />
    public override bool UsesPrompt => _kind.Inputs.HasFlag(RecipeKindInputs.Prompt);
    /// <inheritdoc />
    public override bool UsesJudge => _kind.Inputs.HasFlag(RecipeKindInputs.Judge);
    /// <inheritdoc />
    public override bool UsesMetrics => _kind.Inputs.HasFlag(RecipeKindInputs.Metrics);
    /// <inheritdoc />
    public override bool Accepts(IMetricFactory metric) => UsesMetrics && _kind.Accepts(metric);
    /// <inheritdoc />
    public override IReadOnlyList<OptionSpec>? AnalysisOptions => _kind.Options;
    /// <inheritdoc />
    public override IReadOnlySet<string>? GenerationKeys => _kind.Inputs.HasFlag(RecipeKindInputs.Sampling)
        ? new HashSet<string>(["max_new_tokens", "stop", "seed", "temperature", "top_p", "top_k"], StringComparer.Ordinal)
        : new HashSet<string>(["max_new_tokens", "stop", "seed"], StringComparer.Ordinal);

    /// <inheritdoc />
    public override RunOutcome Run(RecipeRunRequest request, CancellationToken cancellationToken = default)
    {
        var recipe = request.Recipe;
        var observer = request.Observer ?? NullRunObserver.Instance;
        if (recipe.Kind != Name)
            throw new RunInputException($"{recipe.SourceFile}: kind '{recipe.Kind}' is not run by kind '{Name}' of {_owner}");
        IReadOnlyList<Sample> samples = [];
        if (recipe.Dataset is { } ds)
        {
            try { samples = DatasetReader.Read(ds); }
            catch (Exception e) when (e is InvalidDataException or IOException or KeyNotFoundException) { throw new RunInputException(e.Message, e); }
        }
        var metrics = recipe.Metrics.Select(m => new RecipeMetric(m.Name, request.Catalog.Metrics[m.Name], m.Options)).ToList();
        var judge = recipe.Judge is { } j ? request.Catalog.Judges[j.Kind].Create(j.Options) : null;
        var backend = RunSetup.Backend(request.Catalog, recipe);
        var (folder, model) = RunSetup.Open(backend, recipe, request.ResumeDir, [_kind, .. metrics.Select(m => (object)m.Factory)], observer, cancellationToken,
            m =>
            {
                try { _kind.CheckModel(new OptionValues(recipe.Analysis), m); }
                catch (Exception e) when (e is ArgumentException or NotSupportedException)
                {
                    throw new RunInputException($"{recipe.SourceFile}: {e.Message}", e);
                }
            });
        RecipeKindResult result;
        int records;
        using (folder)
        using (model)
        {
            var resumed = folder.Records
                .Where(r => r["id"] is JsonValue)
                .ToDictionary(r => (string)r["id"]!, r => r.ToJsonString(), StringComparer.Ordinal);
            records = resumed.Count;
            observer.Started(folder.Path, samples.Count, samples.Count(s => resumed.ContainsKey(s.Id)));
            int counter = 0;
            var context = new RecipeKindContext
            {
                RecipeName = recipe.Name,
                Model = model,
                Samples = samples,
                RenderPrompt = s => PromptBuilder.Build(recipe.Prompt, s),
                EncodePrompt = s => model.Tokenizer.Encode(PromptBuilder.Build(recipe.Prompt, s), addBos: !recipe.Prompt.HoldsSpecialTokens),
                Sampling = new SamplingOptions(recipe.Generation.Temperature, recipe.Generation.TopP, recipe.Generation.TopK, recipe.Generation.Seed),
                Options = new OptionValues(recipe.Analysis),
                Metrics = metrics,
                Judge = judge,
                MaxNewTokens = recipe.Generation.MaxNewTokens,
                Stop = recipe.Generation.Stop,
                Seed = recipe.Generation.Seed,
                OutputDirectory = folder.Path,
                ResumedRecords = resumed,
                Record = rec =>
                {
                    var id = JsonSerializerHelpers.IdOf(rec) ?? $"record-{counter++}";
                    if (folder.FinishedIds.Contains(id)) return;
                    var node = JsonSerializerHelpers.Record(rec, ("id", id));
                    folder.Append(node);
                    records++;
                    observer.SampleFinished(id, node["error"] is not null);
                },
            };
            observer.Status($"running {Name}");
            result = _kind.Run(context, cancellationToken) ?? throw new InvalidOperationException($"kind '{Name}' of {_owner} returned no result");
        }
        observer.Status("writing summary.json");
        var summary = new JsonObject
        {
            ["schema_version"] = RunFolder.SchemaVersion,
            ["name"] = recipe.Name,
            ["kind"] = Name,
            ["model"] = recipe.Model.Path,
            ["n_samples"] = records,
            ["n_errors"] = result.Errors,
            ["status"] = result.Inconclusive is null ? "ok" : "inconclusive",
        };
        if (result.Conclusion is { } conclusion) summary["conclusion"] = conclusion;
        if (result.Inconclusive is { } why) summary["warning"] = why;
        summary["artifacts"] = new JsonArray([.. result.Artifacts.Select(a => (JsonNode?)a)]);
        summary["result"] = JsonSerializerHelpers.ToNode(result.Summary);
        folder.WriteJson(RunFolder.SummaryFile, summary);
        RunSetup.RecordEnd(folder);

        var lines = new List<string> { $"{recipe.Name}: {records} records, {result.Errors} with errors" };
        lines.AddRange(_kind.SummaryLines(result));
        lines.Add($"run folder: {folder.Path}");
        lines.Add($"report:     {Path.Combine(folder.Path, "report.html")}");
        IReadOnlyList<string> problems = result.Inconclusive is { } w ? [$"{Name} is inconclusive (no finding): {w}; see {Path.Combine(folder.Path, RunFolder.SummaryFile)}"] : [];
        return new RunOutcome(folder.Path, lines, problems, problems.Count > 0);
    }

    /// <inheritdoc />
    public override string RenderHtml(string runDir, IReadOnlyCollection<string> figures) =>
        Render(BuiltInKinds.ReadSummary(runDir), RunFolder.ReadSamples(runDir), runDir);

    private static readonly Lazy<HandlebarsDotNet.HandlebarsTemplate<object, object>> Template = new(() => HtmlReport.Compile("kind-report.hbs"));

    private string Render(JsonObject summary, IReadOnlyList<JsonObject> records, string runDir)
    {
        string body;
        try { body = _kind.RenderReport(new RecipeKindReport(summary, records, runDir)); }
        catch (Exception e)
        {
            body = $"<div class=\"verdict bad\"><div>The report of kind '{System.Net.WebUtility.HtmlEncode(Name)}' could not be rendered: "
                 + $"{System.Net.WebUtility.HtmlEncode(e.GetType().Name + ": " + e.Message)}. summary.json and samples.jsonl hold the results.</div></div>";
        }
        var status = (string?)summary["status"] ?? "ok";
        return Template.Value(new Dictionary<string, object?>
        {
            ["css"] = ReportStyle.Css,
            ["script"] = ReportStyle.Script,
            ["name"] = (string?)summary["name"],
            ["kind"] = Name,
            ["owner"] = _owner,
            ["model"] = (string?)summary["model"],
            ["n_samples"] = summary["n_samples"]?.ToJsonString(),
            ["n_errors"] = summary["n_errors"]?.ToJsonString(),
            ["run_dir"] = runDir,
            ["status"] = status,
            ["status_class"] = status == "ok" ? "ok" : "warn",
            ["conclusion"] = (string?)summary["conclusion"],
            ["warning"] = (string?)summary["warning"],
            ["body"] = body,
        });
    }
}
