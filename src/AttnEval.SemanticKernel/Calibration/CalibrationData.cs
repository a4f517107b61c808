using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using AttnEval.Core.Evaluation;
using AttnEval.Core.Runs;

namespace AttnEval.SemanticKernel.Calibration;

/// <summary>
/// Labelled scores of one estimator read from a finished uncertainty run folder (its <c>samples.jsonl</c>: each record's
/// <c>correct</c> and <c>metrics.&lt;name&gt;.uncertainty</c> / <c>.confidence</c>). Records whose judge or estimator
/// failed (no <c>correct</c>, no <c>metrics.&lt;name&gt;</c>) are skipped and counted.
/// </summary>
/// <param name="Metric">The estimator's name.</param>
/// <param name="Ids">Sample ids, in dataset order (records' <c>index</c>, see <c>RunSummary.DatasetOrder</c>).</param>
/// <param name="Uncertainty">Uncertainty per sample.</param>
/// <param name="Confidence">The estimator's own confidence per sample, or null when the estimator has none (for any sample).</param>
/// <param name="Correct">Correctness per sample.</param>
/// <param name="Skipped">Records left out because their label or the metric's value was missing.</param>
public sealed record CalibrationData(string Metric, IReadOnlyList<string> Ids, IReadOnlyList<double> Uncertainty,
    IReadOnlyList<double>? Confidence, IReadOnlyList<bool> Correct, int Skipped)
{
    /// <summary>Reads a run folder.</summary>
    /// <exception cref="InvalidDataException">The folder has no <c>samples.jsonl</c> or <c>summary.json</c> (not a finished
    /// run), a record's <c>correct</c> is not a boolean or the metric's values are not numbers (the message names the file,
    /// the record number and id, and what was expected), or no record has both a label and the metric (the message lists
    /// the metrics the run has).</exception>
    public static CalibrationData FromRunFolder(string runDir, string metric)
    {
        ArgumentException.ThrowIfNullOrEmpty(metric);
        var samplesPath = Path.Combine(runDir, RunFolder.SamplesFile);
        if (!Directory.Exists(runDir)) throw new InvalidDataException($"{runDir}: no such run folder");
        if (!File.Exists(samplesPath)) throw new InvalidDataException($"{runDir}: no {RunFolder.SamplesFile}; expected an uncertainty run folder");
        if (!File.Exists(Path.Combine(runDir, RunFolder.SummaryFile)))
            throw new InvalidDataException($"{runDir}: no {RunFolder.SummaryFile}: the run has not finished; finish it (attneval run … --resume {runDir}) before calibrating");

        // Dataset order, not line order: the cross-fitting folds are dealt by position.
        var lines = RunFolder.ReadSamples(runDir);
        var lineOf = new Dictionary<JsonObject, int>(ReferenceEqualityComparer.Instance);
        for (int k = 0; k < lines.Count; k++) lineOf[lines[k]] = k + 1;
        var records = AttnEval.Core.Running.RunSummary.DatasetOrder(lines);
        var ids = new List<string>();
        var u = new List<double>();
        var c = new List<double?>();
        var a = new List<bool>();
        var seenMetrics = new SortedSet<string>(StringComparer.Ordinal);
        int skipped = 0;
        for (int i = 0; i < records.Count; i++)
        {
            var r = records[i];
            var id = (string?)r["id"] ?? "?";
            string Where() => $"{samplesPath}: record {lineOf[r]} (id {id})";
            if (r["metrics"] is JsonObject ms) foreach (var (k, _) in ms) seenMetrics.Add(k);
            var correctNode = r["correct"];
            var m = r["metrics"]?[metric];
            if (correctNode is null || m is null) { skipped++; continue; }
            if (correctNode.GetValueKind() is not (System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False))
                throw new InvalidDataException($"{Where()}: \"correct\" is {correctNode.ToJsonString()}; expected true or false");
            ids.Add(id);
            a.Add(correctNode.GetValue<bool>());
            u.Add(Number(m["uncertainty"], $"{Where()}: metrics.{metric}.uncertainty", required: true)!.Value);
            c.Add(Number(m["confidence"], $"{Where()}: metrics.{metric}.confidence", required: false));
        }
        if (ids.Count == 0)
            throw new InvalidDataException($"{samplesPath}: no record has both \"correct\" and metrics.{metric}; metrics in this run: {(seenMetrics.Count == 0 ? "none" : string.Join(", ", seenMetrics))}");
        var conf = c.All(x => x.HasValue) ? c.Select(x => x!.Value).ToList() : null;
        return new CalibrationData(metric, ids, u, conf, a, skipped) { Source = Path.GetFullPath(runDir) };
    }

    private static double? Number(JsonNode? node, string where, bool required)
    {
        if (node is null)
            return required ? throw new InvalidDataException($"{where} is missing; expected a number") : null;
        try { return node.GetValue<double>(); }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{where} is {node.ToJsonString()}; expected a number");
        }
    }

    /// <summary>The run folder the data came from, or null.</summary>
    public string? Source { get; init; }

    /// <summary>Fits a calibrator on all the samples (its <see cref="IsotonicCalibrator.FittedOn"/> is <see cref="Source"/>).</summary>
    public IsotonicCalibrator Fit(CalibrationInput input = CalibrationInput.Uncertainty) =>
        IsotonicCalibrator.Fit(Metric, input, Values(input), Correct, Source);

    /// <summary>The inputs a calibrator of <paramref name="input"/> reads.</summary>
    /// <exception cref="InvalidOperationException">Confidence asked for but the estimator has none.</exception>
    public IReadOnlyList<double> Values(CalibrationInput input) => input == CalibrationInput.Uncertainty ? Uncertainty
        : Confidence ?? throw new InvalidOperationException($"metric '{Metric}' records no confidence; calibrate its uncertainty instead");

    /// <summary>
    /// Honest comparison of raw and calibrated confidence by K-fold cross-fitting: samples are shuffled (seeded
    /// SplitMix64 Fisher–Yates) and dealt into <paramref name="folds"/> folds; each fold's calibrated confidence comes from
    /// a calibrator fitted on the other folds only. ECE uses <paramref name="bins"/> equal-width bins (specs/uq-methods.md
    /// §5.4, left-closed) and Brier §5.5, from <see cref="UncertaintyMetrics"/>. The gate figures are those of a gate at
    /// <paramref name="threshold"/> applied to the cross-fitted confidences.
    /// </summary>
    /// <exception cref="ArgumentException">Fewer than 2 folds or more folds than samples, or a threshold outside [0, 1].</exception>
    public CalibrationEvaluation CrossFit(CalibrationInput input = CalibrationInput.Uncertainty, int folds = 5, long seed = 7, int bins = 20, double threshold = 0.9)
    {
        var n = Correct.Count;
        if (folds < 2 || folds > n) throw new ArgumentException($"cross-fitting needs 2 ≤ folds ≤ samples (got {folds} folds for {n} samples)", nameof(folds));
        if (!(threshold >= 0 && threshold <= 1)) throw new ArgumentException($"threshold {threshold} is outside [0, 1]", nameof(threshold));
        var x = Values(input);
        var perm = Enumerable.Range(0, n).ToArray();
        new SplitMix64(seed).Shuffle(perm);
        var fold = new int[n];
        for (int k = 0; k < n; k++) fold[perm[k]] = k % folds;
        var calibrated = new double[n];
        for (int f = 0; f < folds; f++)
        {
            var train = Enumerable.Range(0, n).Where(i => fold[i] != f).ToList();
            var cal = IsotonicCalibrator.Fit(Metric, input, train.Select(i => x[i]).ToList(), train.Select(i => Correct[i]).ToList());
            for (int i = 0; i < n; i++) if (fold[i] == f) calibrated[i] = cal.Predict(x[i]);
        }
        var labels = Correct.Select(b => b ? 1.0 : 0.0).ToList();
        var answered = Enumerable.Range(0, n).Where(i => calibrated[i] >= threshold).ToList();
        return new CalibrationEvaluation(Metric, n, folds, bins, labels.Average(),
            Confidence is null ? null : UncertaintyMetrics.Ece(Confidence, labels, bins),
            UncertaintyMetrics.Ece(calibrated, labels, bins),
            Confidence is null ? null : UncertaintyMetrics.Brier(Confidence, labels),
            UncertaintyMetrics.Brier(calibrated, labels),
            threshold, (double)answered.Count / n, answered.Count == 0 ? null : answered.Average(i => labels[i]));
    }
}

/// <summary>Cross-fitted comparison of raw and calibrated confidence (<see cref="CalibrationData.CrossFit"/>).</summary>
/// <param name="Metric">The estimator.</param>
/// <param name="Samples">Labelled samples.</param>
/// <param name="Folds">K.</param>
/// <param name="Bins">ECE bins.</param>
/// <param name="Accuracy">Share correct over all samples (the accuracy without a gate).</param>
/// <param name="EceRaw">ECE of the estimator's own confidence, or null when it has none.</param>
/// <param name="EceCalibrated">ECE of the cross-fitted calibrated confidence.</param>
/// <param name="BrierRaw">Brier score of the raw confidence, or null.</param>
/// <param name="BrierCalibrated">Brier score of the calibrated confidence.</param>
/// <param name="Threshold">The gate threshold on calibrated P(correct).</param>
/// <param name="AnsweredShare">Share of samples whose calibrated confidence reaches the threshold.</param>
/// <param name="AnsweredAccuracy">Accuracy of those samples, or null when none passes.</param>
public sealed record CalibrationEvaluation(
    [property: JsonPropertyName("metric")] string Metric,
    [property: JsonPropertyName("samples")] int Samples,
    [property: JsonPropertyName("folds")] int Folds,
    [property: JsonPropertyName("bins")] int Bins,
    [property: JsonPropertyName("accuracy")] double Accuracy,
    [property: JsonPropertyName("ece_raw")] double? EceRaw,
    [property: JsonPropertyName("ece_calibrated")] double EceCalibrated,
    [property: JsonPropertyName("brier_raw")] double? BrierRaw,
    [property: JsonPropertyName("brier_calibrated")] double BrierCalibrated,
    [property: JsonPropertyName("threshold")] double Threshold,
    [property: JsonPropertyName("answered_share")] double AnsweredShare,
    [property: JsonPropertyName("answered_accuracy")] double? AnsweredAccuracy)
{
    /// <summary>Human-readable lines for a console.</summary>
    public IEnumerable<string> Describe()
    {
        static string F(double? v) => v is { } d ? d.ToString("0.0000", CultureInfo.InvariantCulture) : "n/a";
        yield return $"{Metric}: {Samples} labelled samples, accuracy {F(Accuracy)}; {Folds}-fold cross-fitted, {Bins} bins";
        yield return $"  ECE   raw {F(EceRaw)}   calibrated {F(EceCalibrated)}";
        yield return $"  Brier raw {F(BrierRaw)}   calibrated {F(BrierCalibrated)}";
        yield return $"  gate at P(correct) ≥ {F(Threshold)}: answers {F(AnsweredShare)} of questions, accuracy of answered {F(AnsweredAccuracy)} (without gate {F(Accuracy)})";
    }
}
