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
/// Runs an <c>uncertainty</c> recipe (DESIGN.md §3): for each sample, prompt → generate (capturing the attention rows
/// the estimators ask for) → optional sampled answers → judge → every estimator → one line of <c>samples.jsonl</c>;
/// then <c>summary.json</c> and <c>report.html</c> computed from the lines alone, so a resumed run ends with the same
/// summary as an uninterrupted one.
/// </summary>
/// <remarks>
/// Errors: input problems (unknown part, unreadable dataset, unavailable device, unloadable model) throw
/// <see cref="RunInputException"/> before any sample runs. A failure on one sample — the model, the judge or one
/// estimator — is written into that sample's record (<c>error</c> or <c>errors.&lt;metric&gt;</c>) and the run goes on.
/// Determinism: the main answer uses <c>generation.seed</c>; sampled answers use <c>generation.seed</c> mixed with a
/// stable hash of the sample id, so a resumed run draws the same samples.
/// </remarks>
public sealed class UncertaintyRunner(IComponentCatalog catalog, IRunObserver? observer = null, Func<string, string>? writeReport = null)
{
    private readonly IRunObserver _observer = observer ?? NullRunObserver.Instance;

    /// <summary>Writes the run folder's report (tables only by default; a host with plotting passes a writer that
    /// also draws the figures) and returns its path.</summary>
    private readonly Func<string, string> _writeReport = writeReport ?? HtmlReport.Write;

    /// <summary>Runs (or resumes) the recipe and returns the run folder's path.</summary>
    /// <param name="recipe">A validated recipe of kind <c>uncertainty</c>.</param>
    /// <param name="resumeDir">A run folder to continue, or null for a new run under <c>output.dir</c>.</param>
    /// <param name="cancellationToken">Stops after the current sample; finished samples stay in the folder and no summary is written.</param>
    /// <exception cref="RunInputException">Bad input (see remarks).</exception>
    /// <exception cref="RunFolderException">The resumed folder belongs to another recipe or model.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public string Run(Recipe recipe, string? resumeDir = null, CancellationToken cancellationToken = default)
    {
        if (recipe.Kind != RecipeKind.Uncertainty)
            throw new RunInputException($"{recipe.SourceFile}: kind '{recipe.Kind.ToRecipeName()}' is run by its analysis plugin, not by the uncertainty runner");
        var dataset = recipe.Dataset ?? throw new RunInputException($"{recipe.SourceFile}: an uncertainty recipe needs a dataset: section");

        var estimators = recipe.Metrics.Select(m => (m.Name, Estimator: CreateEstimator(m))).ToList();
        var similarity = SimilarityFor(recipe, estimators);
        var judge = recipe.Judge is { } j ? catalog.Judges[j.Kind].Create(j.Options) : null;
        IReadOnlyList<Sample> samples;
        try { samples = DatasetReader.Read(dataset); }
        catch (Exception e) when (e is InvalidDataException or IOException or KeyNotFoundException) { throw new RunInputException(e.Message, e); }

        var backend = RunSetup.Backend(catalog, recipe);
        var (folder, model) = RunSetup.Open(backend, recipe, resumeDir,
            estimators.Select(e => (object)e.Estimator).Concat(judge is null ? [] : [judge]), _observer, cancellationToken,
            m => CheckAttention(recipe, m, estimators));
        try
        {
            var needs = estimators.Aggregate(MetricNeeds.None, (a, e) => a | e.Estimator.Needs);
            int sampled = needs.HasFlag(MetricNeeds.SampledAnswers) ? recipe.Generation.Samples : 0;

            _observer.Started(folder.Path, samples.Count, samples.Count(s => folder.FinishedIds.Contains(s.Id)));
            for (var index = 0; index < samples.Count; index++)
            {
                var sample = samples[index];
                if (folder.FinishedIds.Contains(sample.Id)) continue;
                cancellationToken.ThrowIfCancellationRequested();
                var record = RunSample(recipe, model, sample, index, estimators, judge, sampled, similarity, cancellationToken);
                folder.Append(record);
                _observer.SampleFinished(sample.Id, record["error"] is not null || record["errors"] is not null);
            }
        }
        finally
        {
            model.Dispose();
            folder.Dispose();
        }

        _observer.Status("writing summary.json and report.html");
        var summary = RunSummary.Compute(recipe, RunFolder.ReadSamples(folder.Path));
        folder.WriteJson(RunFolder.SummaryFile, summary);
        _writeReport(folder.Path);
        return folder.Path;
    }

    /// <summary>Refuses, before any run folder exists, a recipe whose estimators read attention rows on a model that
    /// cannot deliver them (e.g. an ONNX graph exported with <c>--layers none</c>): otherwise every sample would record
    /// the same error.</summary>
    private static void CheckAttention(Recipe recipe, ILanguageModel model, IEnumerable<(string Name, ISampleEstimator Estimator)> estimators)
    {
        if (model.SupportsAttentionCapture) return;
        var needing = estimators.Where(e => e.Estimator.Needs.HasFlag(MetricNeeds.AttentionRows)).Select(e => $"'{e.Name}'").ToList();
        if (needing.Count > 0)
            throw new RunInputException($"{recipe.SourceFile}: metric{(needing.Count > 1 ? "s" : "")} {string.Join(", ", needing)} read{(needing.Count > 1 ? "" : "s")} attention rows, " +
                $"but model '{recipe.Model.Path}' ({recipe.Model.Backend}) delivers none (an ONNX graph exported without attention outputs?); " +
                "drop the metric or use a model that exposes blocks.{l}.attn.hook_pattern");
    }

    private ISampleEstimator CreateEstimator(MetricSpec m) =>
        catalog.Metrics.TryGetValue(m.Name, out var f) && f is ISampleEstimatorFactory se
            ? se.Create(m.Options)
            : throw new RunInputException($"metric '{m.Name}' is a {(f?.Kind.ToString() ?? "missing part")}, not a per-sample estimator; use it in a recipe of its own kind");

    /// <summary>The catalog's default sentence-similarity model when some estimator declares
    /// <see cref="MetricNeeds.SentenceSimilarity"/>; null otherwise.</summary>
    /// <exception cref="RunInputException">An estimator needs one and none is installed.</exception>
    private ISentenceSimilarity? SimilarityFor(Recipe recipe, IEnumerable<(string Name, ISampleEstimator Estimator)> estimators)
    {
        var needing = estimators.Where(e => e.Estimator.Needs.HasFlag(MetricNeeds.SentenceSimilarity)).Select(e => e.Name).ToList();
        if (needing.Count == 0) return null;
        return catalog.DefaultSimilarity ?? throw new RunInputException(
            $"{recipe.SourceFile}: metric{(needing.Count > 1 ? "s" : "")} {string.Join(", ", needing.Select(n => $"'{n}'"))} need{(needing.Count > 1 ? "" : "s")} a sentence-similarity model " +
            "but none is installed; expected a similarity plugin such as AttnEval.Similarity.MiniLM in the plugin folders (attneval list shows kind 'similarity')");
    }

    /// <summary>Runs one sample; <paramref name="index"/> is its 0-based position in the run's dataset order (after
    /// shuffling and limit), written as the record's <c>index</c> so the summary never depends on line order.</summary>
    private static JsonObject RunSample(Recipe recipe, ILanguageModel model, Sample sample, int index,
        IReadOnlyList<(string Name, ISampleEstimator Estimator)> estimators, ICorrectnessJudge? judge, int sampled,
        ISentenceSimilarity? similarity, CancellationToken ct)
    {
        var rec = new JsonObject { ["id"] = sample.Id, ["index"] = index, ["input"] = sample.Input, ["target"] = sample.Target };
        try
        {
            var prompt = PromptBuilder.Build(recipe.Prompt, sample);
            var tokens = model.Tokenizer.Encode(prompt, addBos: !recipe.Prompt.HoldsSpecialTokens);
            var reducers = estimators.Select(e => e.Estimator.Needs.HasFlag(MetricNeeds.AttentionRows) ? e.Estimator.CreateReducer(model.Info, tokens.Count) : null).ToArray();
            var g = recipe.Generation;
            var answer = model.Generate(new GenerationRequest
            {
                PromptTokens = tokens,
                MaxNewTokens = g.MaxNewTokens,
                Sampling = new SamplingOptions(g.Temperature, g.TopP, g.TopK, g.Seed),
                StopStrings = g.Stop,
                Captures = reducers.OfType<IAttentionRowReducer>().ToList(),
            }, ct).Sequences[0];
            IReadOnlyList<GeneratedSequence> samples = sampled == 0 ? [] : model.Generate(new GenerationRequest
            {
                PromptTokens = tokens,
                MaxNewTokens = g.MaxNewTokens,
                NumSequences = sampled,
                Sampling = new SamplingOptions(g.SampleTemperature, g.TopP, g.TopK, g.Seed ^ StableHash(sample.Id)),
                StopStrings = g.Stop,
            }, ct).Sequences;

            rec["prompt"] = prompt;
            rec["prompt_tokens"] = tokens.Count;
            rec["answer"] = answer.Text;
            rec["answer_tokens"] = answer.Tokens.Count;
            rec["finish"] = answer.Finish.ToString();
            if (samples.Count > 0) rec["sampled_answers"] = new JsonArray(samples.Select(s => (JsonNode?)s.Text).ToArray());

            var errors = new JsonObject();
            if (judge is not null)
            {
                try
                {
                    var v = judge.Judge(answer.Text, sample);
                    rec["correct"] = v.Correct;
                    rec["judge"] = new JsonObject { ["score"] = v.Score, ["extracted"] = v.Extracted, ["expected"] = v.Expected };
                }
                catch (Exception e) when (e is not OperationCanceledException) { errors["judge"] = RunSetup.Describe(e); }
            }

            var values = new JsonObject();
            for (int i = 0; i < estimators.Count; i++)
            {
                var (name, estimator) = estimators[i];
                try
                {
                    var est = estimator.Estimate(new EstimationContext
                    {
                        Model = model, Sample = sample, Prompt = prompt, PromptTokens = tokens, Answer = answer,
                        SampledAnswers = samples, Reducer = reducers[i],
                        Similarity = estimator.Needs.HasFlag(MetricNeeds.SentenceSimilarity) ? similarity : null,
                    });
                    if (!double.IsFinite(est.Uncertainty)) throw new InvalidOperationException($"returned a non-finite uncertainty ({est.Uncertainty})");
                    if (est.Confidence is { } c && !(c >= 0 && c <= 1)) throw new InvalidOperationException($"returned a confidence outside [0, 1] ({c})");
                    var node = new JsonObject { ["uncertainty"] = est.Uncertainty };
                    if (est.Confidence is { } conf) node["confidence"] = conf;
                    if (est.Details is { Count: > 0 } d) node["details"] = JsonSerializerHelpers.ToNode(d);
                    values[name] = node;
                }
                catch (Exception e) when (e is not OperationCanceledException) { errors[name] = RunSetup.Describe(e); }
            }
            rec["metrics"] = values;
            if (errors.Count > 0) rec["errors"] = errors;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            rec["error"] = RunSetup.Describe(e);
        }
        return rec;
    }

    /// <summary>FNV-1a 64-bit hash of the id: stable across processes and machines (unlike string.GetHashCode).</summary>
    internal static long StableHash(string s)
    {
        ulong h = 14695981039346656037UL;
        foreach (var ch in s) { h ^= ch; h *= 1099511628211UL; }
        return (long)(h & long.MaxValue);
    }
}
