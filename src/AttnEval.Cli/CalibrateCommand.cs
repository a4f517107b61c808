using System.CommandLine;
using System.Globalization;
using AttnEval.SemanticKernel.Calibration;

namespace AttnEval.Cli;

/// <summary><c>attneval calibrate &lt;run-dir&gt; --metric &lt;name&gt; [--out file]</c>: fits an isotonic calibrator from a finished
/// uncertainty run, reports raw vs calibrated ECE by cross-fitting, and saves it as JSON for the confidence gate.</summary>
internal static class CalibrateCommand
{
    public static Command Build()
    {
        var runDir = new Argument<string>("run-dir") { Description = "A finished uncertainty run folder (samples.jsonl + summary.json)" };
        var metric = new Option<string>("--metric") { Description = "The estimator to calibrate (a metrics.<name> key of samples.jsonl)", Required = true };
        var output = new Option<string?>("--out") { Description = "Calibrator file to write (default: <run-dir>/calibration-<metric>.json)" };
        var input = new Option<string>("--input") { Description = "What the calibrator reads: uncertainty (every estimator) or confidence", DefaultValueFactory = _ => "uncertainty" };
        input.AcceptOnlyFromAmong("uncertainty", "confidence");
        var folds = new Option<int>("--folds") { Description = "Folds for the cross-fitted ECE comparison (≥ 2)", DefaultValueFactory = _ => 5 };
        var threshold = new Option<double>("--threshold") { Description = "Gate threshold on calibrated P(correct) to report answered share and accuracy for", DefaultValueFactory = _ => 0.9 };
        var cmd = new Command("calibrate", "Fit an isotonic calibrator (P(correct) from an estimator's score) on a finished uncertainty run; report raw vs calibrated ECE (cross-fitted)")
            { runDir, metric, output, input, folds, threshold };
        cmd.SetAction(r => Run(r.GetValue(runDir)!, r.GetValue(metric)!, r.GetValue(output), r.GetValue(input)!, r.GetValue(folds), r.GetValue(threshold)));
        return cmd;
    }

    private static int Run(string runDir, string metric, string? output, string input, int folds, double threshold)
    {
        var kind = input == "confidence" ? CalibrationInput.Confidence : CalibrationInput.Uncertainty;
        try
        {
            var data = CalibrationData.FromRunFolder(runDir, metric);
            var evaluation = data.CrossFit(kind, folds, seed: 7, bins: 20, threshold: threshold);
            var calibrator = data.Fit(kind);
            var path = Path.GetFullPath(output ?? Path.Combine(runDir, $"calibration-{metric}.json"));
            calibrator.Save(path, evaluation);
            foreach (var line in evaluation.Describe()) Console.WriteLine(line);
            var cut = calibrator.InputThreshold(threshold);
            Console.WriteLine(cut is { } c
                ? string.Create(CultureInfo.InvariantCulture, $"  fitted on all {data.Correct.Count} samples ({data.Skipped} skipped): P(correct) ≥ {threshold:0.###} where {input} {(kind == CalibrationInput.Uncertainty ? "≤" : "≥")} {c:0.####}")
                : string.Create(CultureInfo.InvariantCulture, $"  fitted on all {data.Correct.Count} samples ({data.Skipped} skipped): no {input} reaches P(correct) ≥ {threshold:0.###}; a gate at that threshold answers nothing"));
            Console.WriteLine($"wrote {path}");
            return Cli.Ok;
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or InvalidOperationException or IOException)
        {
            Console.Error.WriteLine($"attneval: {e.Message}");
            return Cli.BadInput;
        }
    }
}
