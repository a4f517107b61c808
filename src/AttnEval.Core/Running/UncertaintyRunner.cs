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
/// then <c>summary.json</c> computed from the records alone (held by the run folder as written, never read back), so a
/// resumed run ends with the same summary as an uninterrupted one. The runner never renders: the report pipeline
/// (<c>AttnEval.Reporting.RunReport.Write</c>, or <see cref="Reports.HtmlReport.Write(string, IReadOnlyDictionary{string, Kinds.RecipeKindDescriptor}?)"/> for the tables alone) reads the folder.
/// </summary>
/// <remarks>
/// Errors: input problems (unknown part, unreadable dataset, unavailable device, unloadable model) throw
/// <see cref="RunInputException"/> before any sample runs. A failure on one sample — the model, the judge or one
/// estimator — is written into that sample's record (<c>error</c> or <c>errors.&lt;metric&gt;</c>) and the run goes on.
/// Determinism: the main answer uses <c>generation.seed</c>; sampled answers use <c>generation.seed</c> mixed with a
/// stable hash of the sample id, so a resumed run draws the same samples.
/// </remarks>
public sealed class UncertaintyRunner(IComponentCatalog catalog, IRunObserver? observer = null)
{
    private readonly IRunObserver _observer = observer ?? NullRunObserver.Instance;


    /// <summary>Runs (or resumes) the recipe and returns the run folder's path.</summary>
    /// <param name="recipe">A validated recipe of kind <c>uncertainty</c>.</param>
    /// <param name="resumeDir">A run folder to continue, or null for a new run under <c>output.dir</c>.</param>
    /// <param name="cancellationToken">Stops after the current sample; finished samples stay in the folder and no summary is written.</param>
    /// <exception cref="RunInputException">Bad input (see remarks).</exception>
    /// <exception cref="RunFolderException">The resumed folder belongs to another recipe or model.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public string Run(Recipe recipe, string? resumeDir = null, CancellationToken cancellationToken = default)
    {
        if (recipe.Kind != Kinds.BuiltInKinds.Uncertainty)
            throw new RunInputException($"{recipe.SourceFile}: kind '{recipe.Kind}' is run by its analysis plugin, not by the uncertainty runner");
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
            var pending = Enumerable.Range(0, samples.Count).Where(i => !folder.FinishedIds.Contains(samples[i].Id)).ToList();
            for (int start = 0; start < pending.Count; start += recipe.Generation.BatchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var batch = pending.Skip(start).Take(recipe.Generation.BatchSize).Select(i => (Index: i, Sample: samples[i])).ToList();
                foreach (var (record, seconds) in RunBatch(recipe, model, batch, estimators, judge, sampled, similarity, cancellationToken))
                {
                    folder.Append(record);
                    folder.AppendTiming(seconds);
                    _observer.SampleFinished((string)record["id"]!, record["error"] is not null || record["errors"] is not null);
                }
            }
        }
        finally
        {
            model.Dispose();
            folder.Dispose();
        }

        _observer.Status("writing summary.json");
        var records = folder.Records;
        var summary = RunSummary.Compute(recipe, records);
        summary["cost"] = RunSummary.Cost(recipe, records, folder.Timings);
        folder.WriteJson(RunFolder.SummaryFile, summary);
        RunSetup.RecordEnd(folder);
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

    /// <summary>One question of a batch between its steps.</summary>
    private sealed class Pending(int index, Sample sample)
    {
        public int Index { get; } = index;
        public Sample Sample { get; } = sample;
        public JsonObject Record { get; } = new() { ["id"] = sample.Id, ["index"] = index, ["input"] = sample.Input, ["target"] = sample.Target };
        public string Prompt { get; set; } = "";
        public IReadOnlyList<int> Tokens { get; set; } = [];
        public IAttentionRowReducer?[] Reducers { get; set; } = [];
        public TimedReducer?[] Timed { get; set; } = [];
        public GeneratedSequence? Answer { get; set; }
        public IReadOnlyList<GeneratedSequence> Sampled { get; set; } = [];
        /// <summary>Seconds spent on this question (<c>timings.jsonl</c>), kept out of the record so that records stay byte-identical across runs.</summary>
        public JsonObject Seconds { get; } = new() { ["id"] = sample.Id };
        public bool Failed => Record["error"] is not null;
    }

    /// <summary>Runs a batch of questions: their answers in one batched decode, their sampled answers in another, then each
    /// question's judge and estimators. <c>index</c> is each question's 0-based position in the run's dataset order (after
    /// shuffling and limit), written as the record's <c>index</c> so the summary never depends on line order. A failure
    /// of the batched call is retried question by question, so that it lands on the question that caused it; the seconds
    /// of a batched step are shared equally among its questions (each question's line of <c>timings.jsonl</c>).</summary>
    private static List<(JsonObject Record, JsonObject Seconds)> RunBatch(Recipe recipe, ILanguageModel model, IReadOnlyList<(int Index, Sample Sample)> batch,
        IReadOnlyList<(string Name, ISampleEstimator Estimator)> estimators, ICorrectnessJudge? judge, int sampled,
        ISentenceSimilarity? similarity, CancellationToken ct)
    {
        var items = batch.Select(b => new Pending(b.Index, b.Sample)).ToList();
        foreach (var item in items)
        {
            try
            {
                item.Prompt = PromptBuilder.Build(recipe.Prompt, item.Sample);
                item.Tokens = model.Tokenizer.Encode(item.Prompt, addBos: !recipe.Prompt.HoldsSpecialTokens);
            }
            catch (Exception e) when (e is not OperationCanceledException) { item.Record["error"] = RunSetup.Describe(e); }
        }
        var g = recipe.Generation;
        var live = items.Where(i => !i.Failed).ToList();
        // What the estimators want from the judged answer's generation itself (contract 1.4), so they need no second pass.
        var outputs = estimators.Select(e => e.Estimator.AnswerOutputs).ToList();
        int topLogProbs = outputs.Count == 0 ? 0 : outputs.Max(o => o.TopLogProbs);
        bool finalHidden = model.SupportsFinalHidden && outputs.Any(o => o.FinalHidden);
        GenerationRequest Greedy(Pending item)
        {
            item.Reducers = estimators.Select(e => e.Estimator.Needs.HasFlag(MetricNeeds.AttentionRows) ? e.Estimator.CreateReducer(model.Info, item.Tokens.Count) : null).ToArray();
            item.Timed = item.Reducers.Select(r => r is null ? null : new TimedReducer(r)).ToArray();
            return new GenerationRequest
            {
                PromptTokens = item.Tokens, MaxNewTokens = g.MaxNewTokens, Sampling = new SamplingOptions(g.Temperature, g.TopP, g.TopK, g.Seed),
                StopStrings = g.Stop, Captures = item.Timed.OfType<IAttentionRowReducer>().ToList(),
                TopLogProbs = topLogProbs, CaptureFinalHidden = finalHidden,
            };
        }
        GenerationRequest Sampling(Pending item) => new()
        {
            PromptTokens = item.Tokens, MaxNewTokens = g.MaxNewTokens, NumSequences = sampled,
            Sampling = new SamplingOptions(g.SampleTemperature, g.TopP, g.TopK, g.Seed ^ StableHash(item.Sample.Id)), StopStrings = g.Stop,
        };
        double generateSeconds = Batched(model, live, Greedy, (item, r) => item.Answer = r.Sequences[0], ct);
        foreach (var item in live) item.Seconds["generate"] = Math.Round(generateSeconds / Math.Max(1, live.Count), 6);
        live = live.Where(i => !i.Failed).ToList();
        if (sampled > 0)
        {
            double sampleSeconds = Batched(model, live, Sampling, (item, r) => item.Sampled = r.Sequences, ct);
            foreach (var item in live) item.Seconds["samples"] = Math.Round(sampleSeconds / Math.Max(1, live.Count), 6);
        }
        var done = items.Where(i => !i.Failed).ToList();
        foreach (var item in done) Describe(item, judge);
        var values = done.Select(_ => new JsonObject()).ToList();
        var seconds = done.Select(_ => new JsonObject()).ToList();
        for (int e = 0; e < estimators.Count; e++)
            Estimate(e, estimators[e], done, model, similarity, values, seconds);
        for (int j = 0; j < done.Count; j++)
        {
            done[j].Record["metrics"] = values[j];
            done[j].Seconds["metrics"] = seconds[j];
            if (done[j].Record["errors"] is JsonObject { Count: 0 }) done[j].Record.Remove("errors");
        }
        return items.Select(i => (i.Record, i.Seconds)).ToList();
    }

    /// <summary>Runs <paramref name="request"/> of every item as one <see cref="ILanguageModel.GenerateBatch"/> call (one by one
    /// when the batched call fails, so the error lands on its item) and returns the seconds spent.</summary>
    private static double Batched(ILanguageModel model, List<Pending> items, Func<Pending, GenerationRequest> request,
        Action<Pending, GenerationResult> keep, CancellationToken ct)
    {
        if (items.Count == 0) return 0;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            var results = model.GenerateBatch(items.Select(request).ToList(), ct);
            for (int i = 0; i < items.Count; i++) keep(items[i], results[i]);
        }
        catch (Exception e) when (e is not OperationCanceledException && items.Count > 1)
        {
            foreach (var item in items)
            {
                try { keep(item, model.Generate(request(item), ct)); }
                catch (Exception e2) when (e2 is not OperationCanceledException) { item.Record["error"] = RunSetup.Describe(e2); }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException) { items[0].Record["error"] = RunSetup.Describe(e); }
        return sw.Elapsed.TotalSeconds;
    }

    /// <summary>Writes a generated question's answer fields and the judge's verdict into its record (an <c>errors</c>
    /// object is opened for the estimators; the judge's own failure is its first entry).</summary>
    private static void Describe(Pending item, ICorrectnessJudge? judge)
    {
        var rec = item.Record;
        var answer = item.Answer!;
        rec["prompt"] = item.Prompt;
        rec["prompt_tokens"] = item.Tokens.Count;
        rec["answer"] = answer.Text;
        rec["answer_tokens"] = answer.Tokens.Count;
        rec["finish"] = answer.Finish.ToString();
        if (item.Sampled.Count > 0) rec["sampled_answers"] = new JsonArray(item.Sampled.Select(s => (JsonNode?)s.Text).ToArray());
        var errors = new JsonObject();
        if (judge is not null)
        {
            try
            {
                var v = judge.Judge(answer.Text, item.Sample);
                rec["correct"] = v.Correct;
                rec["judge"] = new JsonObject { ["score"] = v.Score, ["extracted"] = v.Extracted, ["expected"] = v.Expected };
            }
            catch (Exception e) when (e is not OperationCanceledException) { errors["judge"] = RunSetup.Describe(e); }
        }
        rec["errors"] = errors;
    }

    /// <summary>Runs estimator <paramref name="e"/> on every question of the batch: one <see cref="ISampleEstimator.EstimateBatch"/>
    /// call, or, when it throws, <see cref="ISampleEstimator.Estimate"/> per question so that an error costs only its
    /// question's value. Seconds per question: its share of the estimator's time, plus the time its reducer spent on rows.</summary>
    private static void Estimate(int e, (string Name, ISampleEstimator Estimator) est, List<Pending> items, ILanguageModel model,
        ISentenceSimilarity? similarity, List<JsonObject> values, List<JsonObject> seconds)
    {
        var (name, estimator) = est;
        var contexts = items.Select(item => new EstimationContext
        {
            Model = model, Sample = item.Sample, Prompt = item.Prompt, PromptTokens = item.Tokens, Answer = item.Answer!,
            SampledAnswers = item.Sampled, Reducer = item.Reducers.Length > e ? item.Reducers[e] : null,
            Similarity = estimator.Needs.HasFlag(MetricNeeds.SentenceSimilarity) ? similarity : null,
        }).ToList();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var own = new double[items.Count];
        IReadOnlyList<SampleEstimate>? batch = null;
        if (items.Count > 1)
        {
            try { batch = estimator.EstimateBatch(contexts); }
            catch (Exception ex) when (ex is not OperationCanceledException) { batch = null; }
        }
        if (batch is not null && batch.Count == items.Count)
        {
            for (int j = 0; j < items.Count; j++) Keep(j, batch[j]);
            Array.Fill(own, sw.Elapsed.TotalSeconds / items.Count);
        }
        else
        {
            // One question, or a batch call that failed (or answered for the wrong number of questions): one by one.
            for (int j = 0; j < items.Count; j++)
            {
                var one = System.Diagnostics.Stopwatch.StartNew();
                try { Keep(j, estimator.Estimate(contexts[j])); }
                catch (Exception ex1) when (ex1 is not OperationCanceledException) { Fail(j, ex1); }
                own[j] = one.Elapsed.TotalSeconds;
            }
        }
        for (int j = 0; j < items.Count; j++)
        {
            double capture = items[j].Timed.Length > e && items[j].Timed[e] is { } t ? t.Seconds : 0;
            seconds[j][name] = Math.Round(own[j] + capture, 6);
        }

        void Keep(int j, SampleEstimate estimate)
        {
            try
            {
                if (!double.IsFinite(estimate.Uncertainty)) throw new InvalidOperationException($"returned a non-finite uncertainty ({estimate.Uncertainty})");
                if (estimate.Confidence is { } c && !(c >= 0 && c <= 1)) throw new InvalidOperationException($"returned a confidence outside [0, 1] ({c})");
                var node = new JsonObject { ["uncertainty"] = estimate.Uncertainty };
                if (estimate.Confidence is { } conf) node["confidence"] = conf;
                if (estimate.Details is { Count: > 0 } d) node["details"] = JsonSerializerHelpers.ToNode(d);
                values[j][name] = node;
            }
            catch (InvalidOperationException ex) { Fail(j, ex); }
        }
        void Fail(int j, Exception ex) => items[j].Record["errors"]![name] = RunSetup.Describe(ex);
    }

    /// <summary>Passes rows on to an estimator's reducer and adds up the time it spends on them.</summary>
    private sealed class TimedReducer(IAttentionRowReducer inner) : IAttentionRowReducer
    {
        private long _ticks;
        public IReadOnlySet<int>? Layers => inner.Layers;
        public double Seconds => _ticks / (double)System.Diagnostics.Stopwatch.Frequency;
        public void Accept(in AttentionRowBlock block)
        {
            long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            inner.Accept(block);
            _ticks += System.Diagnostics.Stopwatch.GetTimestamp() - t0;
        }
    }

    /// <summary>FNV-1a 64-bit hash of the id (<see cref="AttnEval.Plugins.Sdk.Fnv1a.Hash64"/>) with the top bit cleared: stable
    /// across processes and machines (unlike string.GetHashCode), in [0, <see cref="long.MaxValue"/>].</summary>
    internal static long StableHash(string s) => (long)(AttnEval.Plugins.Sdk.Fnv1a.Hash64(s) & long.MaxValue);
}
