using System.Text;
using System.Text.Json.Nodes;
using AttnEval.Abstractions;
using AttnEval.Core.Datasets;
using AttnEval.Core.Plugins;
using AttnEval.Core.Recipes;
using AttnEval.Core.Reports;
using AttnEval.Core.Runs;

namespace AttnEval.Core.Running;

/// <summary>
/// Runs a <c>data-scoring</c> recipe (DESIGN.md §3): prepares each scorer of <c>metrics:</c> once on the model
/// (<see cref="IDataScorer.Prepare"/>), streams the dataset (any size: records are read lazily, never all held), scores every
/// document with every scorer and appends one line per document to <c>samples.jsonl</c> — the scores file:
/// <c>{ "id", "group", "metrics": { "&lt;scorer&gt;": { "score", "details" } }, "errors" }</c>. At the end each scorer chooses its
/// subset (<see cref="IDataScorer.Select"/>) from every scored document, the host streams the dataset again and writes the
/// selected documents to <c>selected.jsonl</c> (<c>selected-&lt;scorer&gt;.jsonl</c> when there are several scorers), and
/// <c>summary.json</c> follows (the report pipeline renders <c>report.html</c> from the folder).
/// </summary>
/// <remarks>Resume is per document id, like the uncertainty runner. A scorer that throws on one document costs that
/// document's value (recorded in <c>errors</c>), not the run. Memory: the finished ids and, at the end, one
/// (id, group, score) triple per document.</remarks>
public sealed class DataScoringRunner(IComponentCatalog catalog, IRunObserver? observer = null)
{
    private readonly IRunObserver _observer = observer ?? NullRunObserver.Instance;

    /// <summary>Runs (or resumes) the recipe and returns the run folder's path.</summary>
    /// <param name="recipe">A validated recipe of kind <c>data-scoring</c>.</param>
    /// <param name="resumeDir">A run folder to continue, or null for a new run under <c>output.dir</c>.</param>
    /// <param name="cancellationToken">Stops after the current batch of documents (<c>generation.batch_size</c>); finished documents stay in the folder.</param>
    /// <exception cref="RunInputException">Wrong kind, a metric that is not a data scorer, no dataset, a malformed dataset,
    /// an unavailable device, a model that does not load.</exception>
    /// <exception cref="RunFolderException">The resumed folder belongs to another recipe or model.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public string Run(Recipe recipe, string? resumeDir = null, CancellationToken cancellationToken = default)
    {
        if (recipe.Kind != Kinds.BuiltInKinds.DataScoring)
            throw new RunInputException($"{recipe.SourceFile}: kind '{recipe.Kind}' is not run by the data-scoring runner");
        var dataset = recipe.Dataset ?? throw new RunInputException($"{recipe.SourceFile}: a data-scoring recipe needs a dataset: section");
        var scorers = recipe.Metrics.Select(m => (m.Name, Scorer: Create(m))).ToList();
        var backend = RunSetup.Backend(catalog, recipe);
        var (folder, model) = RunSetup.Open(backend, recipe, resumeDir, scorers.Select(s => (object)s.Scorer), _observer, cancellationToken);
        var selections = new JsonObject();
        using (folder)
        using (model)
        {
            foreach (var (name, scorer) in scorers)
            {
                _observer.Status($"preparing {name}");
                scorer.Prepare(model, folder.Path, cancellationToken);
            }
            _observer.Started(folder.Path, CountOrZero(dataset), folder.FinishedIds.Count);
            try
            {
                // Documents are scored in batches of generation.batch_size (each scorer's ScoreBatch, contract 1.4) and
                // recorded as each batch finishes.
                int batchSize = recipe.Generation?.BatchSize ?? 8;
                var batch = new List<Sample>(batchSize);
                void Flush()
                {
                    foreach (var rec in ScoreDocuments(model, batch, scorers, cancellationToken))
                    {
                        folder.Append(rec);
                        _observer.SampleFinished((string)rec["id"]!, rec["errors"] is not null);
                    }
                    batch.Clear();
                }
                foreach (var doc in DatasetReader.Enumerate(dataset))
                {
                    if (folder.FinishedIds.Contains(doc.Id)) continue;
                    cancellationToken.ThrowIfCancellationRequested();
                    batch.Add(doc);
                    if (batch.Count == batchSize) Flush();
                }
                if (batch.Count > 0) Flush();
            }
            catch (DatasetException e) { throw new RunInputException(e.Message, e); }

            _observer.Status("selecting");
            var records = folder.Records;
            var chosen = new List<(string Name, DataSelection Selection, string File)>();
            foreach (var (name, scorer) in scorers)
            {
                var scored = records
                    .Where(r => r["metrics"]?[name]?["score"] is JsonValue)
                    .Select(r => new ScoredDocument((string)r["id"]!, (string?)r["group"], (double)r["metrics"]![name]!["score"]!))
                    .ToList();
                var sel = scorer.Select(scored, folder.Path);
                var file = scorers.Count == 1 ? "selected.jsonl" : $"selected-{name}.jsonl";
                chosen.Add((name, sel, file));
            }
            WriteSelected(dataset, folder.Path, chosen);
            foreach (var (name, sel, file) in chosen)
                selections[name] = new JsonObject
                {
                    ["file"] = file,
                    ["n_selected"] = sel.SelectedIds.Count,
                    ["summary"] = JsonSerializerHelpers.ToNode(sel.Summary),
                    ["artifacts"] = new JsonArray(sel.Artifacts.Select(a => (JsonNode?)a).ToArray()),
                };
        }
        _observer.Status("writing summary.json");
        folder.WriteJson(RunFolder.SummaryFile, Summarize(recipe, folder.Records, selections));
        RunSetup.RecordEnd(folder);
        return folder.Path;
    }

    /// <summary>Number of documents (a streaming pass that keeps nothing), for the progress display.</summary>
    private static int CountOrZero(DatasetSpec dataset)
    {
        try { return DatasetReader.Enumerate(dataset).Count(); }
        catch (DatasetException e) { throw new RunInputException(e.Message, e); }
    }

    private IDataScorer Create(MetricSpec m) =>
        catalog.Metrics.TryGetValue(m.Name, out var f) && f is IDataScorerFactory ds
            ? ds.Create(m.Options)
            : throw new RunInputException($"metric '{m.Name}' is a {(f?.Kind.ToString() ?? "missing part")}, not a data scorer; use it in a recipe of its own kind");

    /// <summary>The records of a batch of documents, in order: each scorer's <see cref="IDataScorer.ScoreBatch"/>, or, when
    /// it throws, <see cref="IDataScorer.Score"/> per document so that an error costs only its document.</summary>
    private static List<JsonObject> ScoreDocuments(ILanguageModel model, IReadOnlyList<Sample> docs, IReadOnlyList<(string Name, IDataScorer Scorer)> scorers, CancellationToken ct)
    {
        var records = docs.Select(doc =>
        {
            var rec = new JsonObject { ["id"] = doc.Id };
            if (doc.Target is { } target) rec["label"] = ParseLabel(doc.Id, target);
            return rec;
        }).ToList();
        var values = docs.Select(_ => new JsonObject()).ToList();
        var errors = docs.Select(_ => new JsonObject()).ToList();
        foreach (var (name, scorer) in scorers)
        {
            IReadOnlyList<SampleEstimate>? batch = null;
            if (docs.Count > 1)
            {
                try { batch = scorer.ScoreBatch(model, docs, ct); }
                catch (Exception e) when (e is not OperationCanceledException) { batch = null; }
            }
            for (int i = 0; i < docs.Count; i++)
            {
                try
                {
                    var est = batch is { } b && b.Count == docs.Count ? b[i] : scorer.Score(model, docs[i], ct);
                    if (!double.IsFinite(est.Uncertainty)) throw new InvalidOperationException($"returned a non-finite score ({est.Uncertainty})");
                    var node = new JsonObject { ["score"] = est.Uncertainty };
                    if (est.Details is { Count: > 0 } d)
                    {
                        node["details"] = JsonSerializerHelpers.ToNode(d);
                        if (d.TryGetValue("group", out var g) && g is string group && records[i]["group"] is null) records[i]["group"] = group;
                    }
                    values[i][name] = node;
                }
                catch (Exception e) when (e is not OperationCanceledException) { errors[i][name] = RunSetup.Describe(e); }
            }
        }
        for (int i = 0; i < docs.Count; i++)
        {
            records[i]["metrics"] = values[i];
            if (errors[i].Count > 0) records[i]["errors"] = errors[i];
        }
        return records;
    }

    /// <summary>The boolean label of a data-scoring document (<c>dataset.target</c>): true/false, 1/0 or yes/no.</summary>
    /// <exception cref="RunInputException">Any other value; names the document.</exception>
    private static bool ParseLabel(string id, string value) => value.Trim().ToLowerInvariant() switch
    {
        "true" or "1" or "yes" => true,
        "false" or "0" or "no" => false,
        _ => throw new RunInputException($"document '{id}': dataset.target of a data-scoring recipe is a boolean label (true/false, 1/0, yes/no), got '{value}'"),
    };

    /// <summary>Streams the dataset once and writes each selected document (its raw fields plus <c>id</c>) to its scorer's file.</summary>
    private static void WriteSelected(DatasetSpec dataset, string dir, IReadOnlyList<(string Name, DataSelection Selection, string File)> chosen)
    {
        var writers = chosen.Select(c => new StreamWriter(Path.Combine(dir, c.File + ".tmp"), false, new UTF8Encoding(false))).ToList();
        try
        {
            foreach (var doc in DatasetReader.Enumerate(dataset))
                for (int i = 0; i < chosen.Count; i++)
                    if (chosen[i].Selection.SelectedIds.Contains(doc.Id))
                    {
                        writers[i].Write(JsonSerializerHelpers.Record(doc.Fields, ("id", doc.Id)).ToJsonString(RunFolder.LineOptions));
                        writers[i].Write('\n');
                    }
        }
        finally { foreach (var w in writers) w.Dispose(); }
        foreach (var c in chosen) File.Move(Path.Combine(dir, c.File + ".tmp"), Path.Combine(dir, c.File), overwrite: true);
    }

    /// <summary>Builds <c>summary.json</c> of a data-scoring run from its records and the scorers' selections: per scorer the
    /// number scored, errors, mean score, and per group n / mean / min / max, plus the selection. When the documents carry
    /// a boolean label (<c>dataset.target</c>), also per scorer the AUROC of the score for label = true against false
    /// (ties count one half) and the mean score of each label.</summary>
    public static JsonObject Summarize(Recipe recipe, IReadOnlyList<JsonObject> records, JsonObject selections)
    {
        var scorers = new JsonObject();
        foreach (var m in recipe.Metrics)
        {
            var rows = records.Where(r => r["metrics"]?[m.Name]?["score"] is JsonValue)
                .Select(r => (Group: (string?)r["group"] ?? "", Score: (double)r["metrics"]![m.Name]!["score"]!)).ToList();
            var groups = new JsonObject();
            foreach (var g in rows.GroupBy(r => r.Group).OrderBy(g => g.Key, StringComparer.Ordinal))
                groups[g.Key.Length == 0 ? "(none)" : g.Key] = new JsonObject
                {
                    ["n"] = g.Count(), ["mean"] = g.Average(x => x.Score), ["min"] = g.Min(x => x.Score), ["max"] = g.Max(x => x.Score),
                };
            var node = scorers[m.Name] = new JsonObject
            {
                ["n"] = rows.Count,
                ["errors"] = records.Count(r => r["errors"]?[m.Name] is not null),
                ["mean"] = rows.Count == 0 ? null : rows.Average(r => r.Score),
                ["groups"] = groups,
                ["selection"] = selections[m.Name]?.DeepClone(),
            };
            var labelled = records.Where(r => r["metrics"]?[m.Name]?["score"] is JsonValue && r["label"] is JsonValue)
                .Select(r => (Label: (bool)r["label"]!, Score: (double)r["metrics"]![m.Name]!["score"]!)).ToList();
            if (labelled.Count > 0)
            {
                var pos = labelled.Where(x => x.Label).ToList();
                var neg = labelled.Where(x => !x.Label).ToList();
                node["label"] = new JsonObject
                {
                    ["field"] = recipe.Dataset?.Target,
                    ["n_true"] = pos.Count,
                    ["n_false"] = neg.Count,
                    ["mean_true"] = pos.Count == 0 ? null : pos.Average(x => x.Score),
                    ["mean_false"] = neg.Count == 0 ? null : neg.Average(x => x.Score),
                    ["auroc"] = pos.Count == 0 || neg.Count == 0 ? null
                        : Evaluation.UncertaintyMetrics.Auroc(labelled.Select(x => x.Score).ToList(), labelled.Select(x => x.Label).ToList()),
                };
            }
        }
        var summary = RunSetup.SummaryHeader(recipe, records, "errors");
        summary["scorers"] = scorers;
        return summary;
    }
}
