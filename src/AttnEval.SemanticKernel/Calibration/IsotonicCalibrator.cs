using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using AttnEval.Core.Evaluation;

namespace AttnEval.SemanticKernel.Calibration;

/// <summary>What a calibrator reads from a score.</summary>
public enum CalibrationInput
{
    /// <summary>The estimator's uncertainty U (every estimator has one); P(correct) is fitted non-increasing in U.</summary>
    Uncertainty,
    /// <summary>The estimator's own confidence in [0, 1]; P(correct) is fitted non-decreasing in it.</summary>
    Confidence,
}

/// <summary>
/// Isotonic calibration (Zadrozny and Elkan 2002; the Isotonic-PCC normalizer of LM-Polygraph, specs/uq-methods.md
/// §4.4 and §8.1): the monotone step function of the score that minimises the squared error to the correctness labels,
/// found by pool-adjacent-violators (PAV), turned into a probability of being correct. Between the fitted blocks the
/// function is interpolated linearly; outside the fitted range it is clamped to the end values. Monotone direction:
/// non-increasing in an uncertainty, non-decreasing in a confidence.
/// </summary>
public sealed class IsotonicCalibrator
{
    /// <summary>The file's <c>format</c> field.</summary>
    public const string FormatName = "attneval-isotonic-calibrator";

    private readonly double[] _x;
    private readonly double[] _y;

    private IsotonicCalibrator(string metric, CalibrationInput input, double[] x, double[] y, int samples, double accuracy)
    {
        Metric = metric;
        Input = input;
        _x = x;
        _y = y;
        Samples = samples;
        Accuracy = accuracy;
    }

    /// <summary>The estimator the calibrator was fitted for (e.g. <c>msp</c>); scores of other methods are refused.</summary>
    public string Metric { get; }
    /// <summary>Which value of a score it reads.</summary>
    public CalibrationInput Input { get; }
    /// <summary>Knots of the fitted function: input values, strictly ascending (two per block of more than one distinct value).</summary>
    public IReadOnlyList<double> KnotInputs => _x;
    /// <summary>P(correct) at each knot, in [0, 1]; monotone in the direction of <see cref="Input"/>.</summary>
    public IReadOnlyList<double> KnotProbabilities => _y;
    /// <summary>Number of labelled samples it was fitted on.</summary>
    public int Samples { get; }
    /// <summary>Accuracy (share correct) of the fitting samples.</summary>
    public double Accuracy { get; }

    /// <summary>Where it was fitted from (a run folder), for the saved file; null when fitted in memory.</summary>
    public string? FittedOn { get; private init; }

    /// <summary>Fits the calibrator by weighted PAV.</summary>
    /// <param name="metric">The estimator's name.</param>
    /// <param name="input">What <paramref name="values"/> are.</param>
    /// <param name="values">One input per sample; non-finite uncertainties are mapped as spec §5 says (±∞ → ±1e7, NaN → −1e7).</param>
    /// <param name="correct">Whether each answer was correct.</param>
    /// <param name="fittedOn">Where the data came from (a run folder), kept in the saved file.</param>
    /// <exception cref="ArgumentException">Different lengths, no samples, or a confidence outside [0, 1] (the message gives its index).</exception>
    public static IsotonicCalibrator Fit(string metric, CalibrationInput input, IReadOnlyList<double> values, IReadOnlyList<bool> correct, string? fittedOn = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(metric);
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(correct);
        if (values.Count != correct.Count) throw new ArgumentException($"values and labels must have the same length (got {values.Count} and {correct.Count})", nameof(correct));
        if (values.Count == 0) throw new ArgumentException("an isotonic calibrator needs at least one labelled sample", nameof(values));
        var v = new double[values.Count];
        for (int i = 0; i < v.Length; i++)
        {
            v[i] = input == CalibrationInput.Uncertainty ? UncertaintyMetrics.SanitizeScore(values[i]) : values[i];
            if (input == CalibrationInput.Confidence && !(v[i] >= 0 && v[i] <= 1))
                throw new ArgumentException($"confidence {i} is {values[i].ToString(CultureInfo.InvariantCulture)}; expected a value in [0, 1]", nameof(values));
        }
        // PAV fits a non-decreasing function of z; an uncertainty is negated so the fit is non-increasing in U.
        var sign = input == CalibrationInput.Uncertainty ? -1.0 : 1.0;
        var z = v.Select(x => sign * x).ToArray();
        var labels = correct.Select(c => c ? 1.0 : 0.0).ToArray();
        var blocks = Pav(z, labels);
        var knots = new List<(double X, double Y)>();
        foreach (var b in blocks)
        {
            knots.Add((sign * b.Lo, b.Value));
            if (b.Hi > b.Lo) knots.Add((sign * b.Hi, b.Value));
        }
        knots.Sort((a, b) => a.X.CompareTo(b.X));
        return new IsotonicCalibrator(metric, input, knots.Select(k => k.X).ToArray(), knots.Select(k => k.Y).ToArray(),
            values.Count, labels.Average()) { FittedOn = fittedOn };
    }

    /// <summary>A block of pooled samples: its z-range, total weight and mean label.</summary>
    private record struct Block(double Lo, double Hi, double Weight, double Value);

    /// <summary>Pool-adjacent-violators on (z, y) with unit weights: identical z are pooled first, then adjacent
    /// blocks whose means decrease are merged until the block means are non-decreasing in z.</summary>
    internal static List<(double Lo, double Hi, double Weight, double Value)> Pav(double[] z, double[] y)
    {
        var order = Enumerable.Range(0, z.Length).OrderBy(i => z[i]).ThenBy(i => i).ToArray();
        var stack = new List<Block>();
        int k = 0;
        while (k < order.Length)
        {
            double zk = z[order[k]], w = 0, s = 0;
            while (k < order.Length && z[order[k]] == zk) { s += y[order[k]]; w += 1; k++; }
            var cur = new Block(zk, zk, w, s / w);
            while (stack.Count > 0 && stack[^1].Value >= cur.Value)
            {
                var prev = stack[^1];
                stack.RemoveAt(stack.Count - 1);
                var weight = prev.Weight + cur.Weight;
                cur = new Block(prev.Lo, cur.Hi, weight, (prev.Value * prev.Weight + cur.Value * cur.Weight) / weight);
            }
            stack.Add(cur);
        }
        return stack.Select(b => (b.Lo, b.Hi, b.Weight, b.Value)).ToList();
    }

    /// <summary>P(correct) for one input value, in [0, 1]: linear between knots, clamped outside them.</summary>
    /// <param name="value">An uncertainty or confidence (per <see cref="Input"/>); non-finite uncertainties are sanitised.</param>
    /// <exception cref="ArgumentException">A confidence outside [0, 1].</exception>
    public double Predict(double value)
    {
        if (Input == CalibrationInput.Uncertainty) value = UncertaintyMetrics.SanitizeScore(value);
        else if (!(value >= 0 && value <= 1)) throw new ArgumentException($"confidence {value.ToString(CultureInfo.InvariantCulture)} is outside [0, 1]", nameof(value));
        if (value <= _x[0]) return _y[0];
        if (value >= _x[^1]) return _y[^1];
        int hi = Array.BinarySearch(_x, value);
        if (hi >= 0) return _y[hi];
        hi = ~hi;
        int lo = hi - 1;
        var t = (value - _x[lo]) / (_x[hi] - _x[lo]);
        return _y[lo] + t * (_y[hi] - _y[lo]);
    }

    /// <summary>P(correct) of a score of this calibrator's method.</summary>
    /// <exception cref="InvalidOperationException">The score is of another method, or the calibrator reads confidence and the score has none.</exception>
    public double Predict(ConfidenceScore score)
    {
        ArgumentNullException.ThrowIfNull(score);
        if (!string.Equals(score.Method, Metric, StringComparison.Ordinal))
            throw new InvalidOperationException($"the calibrator was fitted for '{Metric}' but the score is from '{score.Method}'; fit one for '{score.Method}' (attneval calibrate <run-dir> --metric {score.Method})");
        if (Input == CalibrationInput.Uncertainty) return Predict(score.Uncertainty);
        return Predict(score.Confidence ?? throw new InvalidOperationException($"the calibrator reads the confidence of '{Metric}' but the score has none"));
    }

    /// <summary>
    /// The input value at which the calibrated probability falls to <paramref name="probability"/>: for an uncertainty,
    /// the largest U with P(correct | U) ≥ p (answers with U at or below it pass a gate at p); for a confidence, the
    /// smallest c with P ≥ p. Null when no input reaches p.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="probability"/> outside [0, 1].</exception>
    public double? InputThreshold(double probability)
    {
        if (!(probability >= 0 && probability <= 1)) throw new ArgumentOutOfRangeException(nameof(probability), probability, "expected a probability in [0, 1]");
        if (_y.Max() < probability) return null;
        if (Input == CalibrationInput.Uncertainty)
        {
            // y is non-increasing in x: the last knot with y ≥ p, then interpolate towards the next knot.
            int i = Array.FindLastIndex(_y, v => v >= probability);
            if (i == _x.Length - 1) return double.PositiveInfinity;
            var (x0, y0, x1, y1) = (_x[i], _y[i], _x[i + 1], _y[i + 1]);
            return y0 == y1 ? x0 : x0 + (y0 - probability) / (y0 - y1) * (x1 - x0);
        }
        else
        {
            int i = Array.FindIndex(_y, v => v >= probability);
            if (i == 0) return 0;
            var (x0, y0, x1, y1) = (_x[i - 1], _y[i - 1], _x[i], _y[i]);
            return y0 == y1 ? x1 : x0 + (probability - y0) / (y1 - y0) * (x1 - x0);
        }
    }

    // ---------------------------------------------------------------- file format

    private sealed record FileDto(
        [property: JsonPropertyName("format")] string Format,
        [property: JsonPropertyName("version")] int Version,
        [property: JsonPropertyName("metric")] string Metric,
        [property: JsonPropertyName("input")] string Input,
        [property: JsonPropertyName("x")] double[] X,
        [property: JsonPropertyName("p_correct")] double[] PCorrect,
        [property: JsonPropertyName("samples")] int Samples,
        [property: JsonPropertyName("accuracy")] double Accuracy,
        [property: JsonPropertyName("fitted_on")] string? FittedOn,
        [property: JsonPropertyName("evaluation")] JsonElement? Evaluation);

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>Writes the calibrator as JSON (<c>format</c>, <c>version</c> 1, <c>metric</c>, <c>input</c>, knots
    /// <c>x</c> and <c>p_correct</c>, <c>samples</c>, <c>accuracy</c>, <c>fitted_on</c>, and the optional
    /// cross-fitted <paramref name="evaluation"/>), atomically.</summary>
    public void Save(string path, CalibrationEvaluation? evaluation = null)
    {
        var dto = new FileDto(FormatName, 1, Metric, Input == CalibrationInput.Uncertainty ? "uncertainty" : "confidence", _x, _y, Samples, Accuracy, FittedOn,
            evaluation is null ? null : JsonSerializer.SerializeToElement(evaluation, Json));
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        AttnEval.Core.Runs.RunFolder.WriteAtomic(full, JsonSerializer.Serialize(dto, Json));
    }

    /// <summary>Reads a calibrator written by <see cref="Save"/>.</summary>
    /// <exception cref="InvalidDataException">Not JSON, another format or version, or knots that are not ascending with
    /// probabilities in [0, 1] and monotone; the message names the file and what was expected.</exception>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    public static IsotonicCalibrator Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: calibrator file not found", path);
        FileDto? dto;
        try { dto = JsonSerializer.Deserialize<FileDto>(File.ReadAllText(path), Json); }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}:{e.LineNumber + 1}:{e.BytePositionInLine + 1}: expected an AttnEval calibrator JSON object ({e.Message})", e);
        }
        if (dto is null || dto.Format != FormatName) throw new InvalidDataException($"{path}: expected \"format\": \"{FormatName}\" (got {(dto is null ? "null" : $"\"{dto.Format}\"")})");
        if (dto.Version != 1) throw new InvalidDataException($"{path}: calibrator version {dto.Version} is not supported; expected 1");
        var input = dto.Input switch
        {
            "uncertainty" => CalibrationInput.Uncertainty,
            "confidence" => CalibrationInput.Confidence,
            _ => throw new InvalidDataException($"{path}: \"input\" is \"{dto.Input}\"; expected \"uncertainty\" or \"confidence\""),
        };
        if (dto.X is null || dto.PCorrect is null || dto.X.Length == 0 || dto.X.Length != dto.PCorrect.Length)
            throw new InvalidDataException($"{path}: \"x\" and \"p_correct\" must be non-empty arrays of the same length");
        for (int i = 0; i < dto.X.Length; i++)
        {
            if (!double.IsFinite(dto.X[i]) || (i > 0 && !(dto.X[i] > dto.X[i - 1])))
                throw new InvalidDataException($"{path}: x[{i}] = {dto.X[i].ToString(CultureInfo.InvariantCulture)}; expected finite, strictly ascending knots");
            if (!(dto.PCorrect[i] >= 0 && dto.PCorrect[i] <= 1))
                throw new InvalidDataException($"{path}: p_correct[{i}] = {dto.PCorrect[i].ToString(CultureInfo.InvariantCulture)}; expected a probability in [0, 1]");
            if (i > 0 && (input == CalibrationInput.Uncertainty ? dto.PCorrect[i] > dto.PCorrect[i - 1] : dto.PCorrect[i] < dto.PCorrect[i - 1]))
                throw new InvalidDataException($"{path}: p_correct[{i}] breaks monotonicity; expected it {(input == CalibrationInput.Uncertainty ? "non-increasing" : "non-decreasing")} in \"x\"");
        }
        return new IsotonicCalibrator(dto.Metric, input, dto.X, dto.PCorrect, dto.Samples, dto.Accuracy) { FittedOn = dto.FittedOn };
    }
}
