using System.Text.Json.Nodes;
using AttnEval.Core.Evaluation;
using AttnEval.SemanticKernel.Calibration;

namespace AttnEval.SemanticKernel.Tests;

public class IsotonicCalibratorTests
{
    // u = 1,2,3,4 with labels 1,0,1,0. PAV in −u: (−4:0) (−3:1) (−2:0) (−1:1) → the violating pair (1, 0) pools to 0.5 →
    // P = 1 at u=1, 0.5 on [2, 3], 0 at u=4.
    private static readonly IsotonicCalibrator Hand = IsotonicCalibrator.Fit("msp", CalibrationInput.Uncertainty, [1, 2, 3, 4], [true, false, true, false]);

    [Fact]
    public void Pav_pools_the_violating_pair_by_hand()
    {
        Hand.KnotInputs.Should().Equal(1, 2, 3, 4);
        Hand.KnotProbabilities.Should().Equal(1, 0.5, 0.5, 0);
    }

    [Theory]
    [InlineData(0.0, 1.0)]
    [InlineData(1.0, 1.0)]
    [InlineData(1.5, 0.75)]
    [InlineData(2.5, 0.5)]
    [InlineData(3.5, 0.25)]
    [InlineData(10, 0.0)]
    [InlineData(double.PositiveInfinity, 0.0)]
    public void Predict_interpolates_between_blocks_and_clamps_outside(double u, double p) => Hand.Predict(u).Should().BeApproximately(p, 1e-12);

    [Theory]
    [InlineData(1.0, 1.0)]
    [InlineData(0.75, 1.5)]
    [InlineData(0.5, 3.0)]
    [InlineData(0.25, 3.5)]
    public void Input_threshold_inverts_predict(double p, double u) => Hand.InputThreshold(p).Should().BeApproximately(u, 1e-12);

    [Fact]
    public void Threshold_above_every_probability_is_null()
    {
        var c = IsotonicCalibrator.Fit("msp", CalibrationInput.Uncertainty, [1, 2], [true, false]);
        c.InputThreshold(0.9).Should().BeApproximately(1.1, 1e-12); // P falls linearly from 1 at U=1 to 0 at U=2
        IsotonicCalibrator.Fit("msp", CalibrationInput.Uncertainty, [1, 2, 3], [false, true, false]).InputThreshold(0.9).Should().BeNull();
    }

    [Fact]
    public void Ties_are_pooled_before_PAV()
    {
        var c = IsotonicCalibrator.Fit("msp", CalibrationInput.Uncertainty, [2, 2, 2, 5], [true, true, false, false]);
        c.KnotInputs.Should().Equal(2, 5);
        c.KnotProbabilities[0].Should().BeApproximately(2.0 / 3, 1e-12);
        c.KnotProbabilities[1].Should().Be(0);
    }

    [Fact]
    public void Confidence_input_is_fitted_non_decreasing()
    {
        var c = IsotonicCalibrator.Fit("msp", CalibrationInput.Confidence, [0.9, 0.1, 0.5, 0.7], [true, false, true, false]);
        // sorted by c: 0.1:0, 0.5:1, 0.7:0, 0.9:1 → (1, 0) pools → 0, 0.5, 0.5, 1
        c.KnotInputs.Should().Equal(0.1, 0.5, 0.7, 0.9);
        c.KnotProbabilities.Should().Equal(0, 0.5, 0.5, 1);
        c.Predict(0.6).Should().Be(0.5);
        c.InputThreshold(0.75).Should().BeApproximately(0.8, 1e-12);
        var act = () => c.Predict(1.2);
        act.Should().Throw<ArgumentException>().WithMessage("*1.2*outside [0, 1]*");
    }

    [Fact]
    public void Fitted_values_are_monotone_and_keep_the_label_mean()
    {
        var rng = new SplitMix64(3);
        var u = Enumerable.Range(0, 300).Select(_ => rng.NextDouble() * 5).ToList();
        var a = u.Select(x => rng.NextDouble() < Math.Exp(-x / 2)).ToList();
        var c = IsotonicCalibrator.Fit("msp", CalibrationInput.Uncertainty, u, a);
        c.KnotProbabilities.Zip(c.KnotProbabilities.Skip(1)).Should().OnlyContain(p => p.Second <= p.First);
        // The isotonic fit preserves the total: the mean of the fitted values over the samples equals the accuracy.
        u.Average(c.Predict).Should().BeApproximately(a.Average(x => x ? 1.0 : 0.0), 1e-9);
    }

    [Fact]
    public void Save_and_load_round_trip()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("attneval-cal").FullName, "cal.json");
        Hand.Save(path);
        var back = IsotonicCalibrator.Load(path);
        back.Metric.Should().Be("msp");
        back.Input.Should().Be(CalibrationInput.Uncertainty);
        back.KnotInputs.Should().Equal(Hand.KnotInputs);
        back.KnotProbabilities.Should().Equal(Hand.KnotProbabilities);
        back.Samples.Should().Be(4);
        back.Accuracy.Should().Be(0.5);
    }

    [Theory]
    [InlineData("{\"format\":\"other\",\"version\":1}", "*expected \"format\": \"attneval-isotonic-calibrator\"*")]
    [InlineData("{\"format\":\"attneval-isotonic-calibrator\",\"version\":1,\"metric\":\"msp\",\"input\":\"uncertainty\",\"x\":[1,2],\"p_correct\":[0.2,0.9],\"samples\":2,\"accuracy\":0.5}", "*p_correct[1] breaks monotonicity*non-increasing*")]
    [InlineData("{\"format\":\"attneval-isotonic-calibrator\",\"version\":1,\"metric\":\"msp\",\"input\":\"uncertainty\",\"x\":[2,1],\"p_correct\":[0.9,0.2],\"samples\":2,\"accuracy\":0.5}", "*x[1] = 1*strictly ascending*")]
    [InlineData("{\"format\":\"attneval-isotonic-calibrator\",\"version\":1,\"metric\":\"msp\",\"input\":\"logits\",\"x\":[1],\"p_correct\":[1],\"samples\":1,\"accuracy\":1}", "*\"input\" is \"logits\"*")]
    [InlineData("{\n\"format\": ,", "*cal.json:2:*expected an AttnEval calibrator JSON object*")]
    public void Bad_files_name_the_file_and_what_was_expected(string json, string message)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("attneval-cal").FullName, "cal.json");
        File.WriteAllText(path, json);
        var act = () => IsotonicCalibrator.Load(path);
        act.Should().Throw<InvalidDataException>().WithMessage(message).And.Message.Should().Contain(path);
    }
}

public class CalibrationDataTests
{
    internal static string WriteRun(IEnumerable<JsonObject> records, bool finished = true)
    {
        var dir = Directory.CreateTempSubdirectory("attneval-run").FullName;
        File.WriteAllLines(Path.Combine(dir, "samples.jsonl"), records.Select(r => r.ToJsonString()));
        if (finished) File.WriteAllText(Path.Combine(dir, "summary.json"), "{}");
        return dir;
    }

    private static JsonObject Rec(string id, bool? correct, double? u, double? c) => new()
    {
        ["id"] = id,
        ["correct"] = correct,
        ["metrics"] = u is null ? new JsonObject() : new JsonObject { ["msp"] = c is null ? new JsonObject { ["uncertainty"] = u } : new JsonObject { ["uncertainty"] = u, ["confidence"] = c } },
    };

    [Fact]
    public void Reads_labels_and_values_and_skips_failed_samples()
    {
        var dir = WriteRun([Rec("a", true, 0.5, 0.6), Rec("b", false, 2.0, 0.13), Rec("c", null, 1.0, 0.3), Rec("d", true, null, null)]);
        var d = CalibrationData.FromRunFolder(dir, "msp");
        d.Ids.Should().Equal("a", "b");
        d.Uncertainty.Should().Equal(0.5, 2.0);
        d.Confidence.Should().Equal(0.6, 0.13);
        d.Correct.Should().Equal(true, false);
        d.Skipped.Should().Be(2);
    }

    [Fact]
    public void Bad_input_names_file_record_and_expectation()
    {
        var bad = Rec("b", true, 1, 0.5);
        bad["correct"] = "yes";
        var dir = WriteRun([Rec("a", true, 1, 0.5), bad]);
        var act = () => CalibrationData.FromRunFolder(dir, "msp");
        act.Should().Throw<InvalidDataException>().WithMessage("*samples.jsonl: record 2 (id b): \"correct\" is \"yes\"; expected true or false");

        act = () => CalibrationData.FromRunFolder(dir, "uqac");
        act.Should().Throw<InvalidDataException>().WithMessage("*no record has both \"correct\" and metrics.uqac; metrics in this run: msp");

        act = () => CalibrationData.FromRunFolder(WriteRun([Rec("a", true, 1, 0.5)], finished: false), "msp");
        act.Should().Throw<InvalidDataException>().WithMessage("*no summary.json: the run has not finished*");
    }

    [Fact]
    public void Cross_fitting_compares_raw_and_calibrated_ECE_on_held_out_folds()
    {
        // 200 answers: U = i/40 ∈ [0, 5); correct for 9/10 of the answers with U < 2 and 1/10 above.
        // The raw confidence exp(−U) is far from those rates; the calibrated one is close.
        var recs = Enumerable.Range(0, 200).Select(i =>
        {
            var u = i / 40.0;
            var correct = u < 2 ? i % 10 != 0 : i % 10 == 0;
            return Rec($"s{i}", correct, u, Math.Exp(-u));
        }).ToList();
        var d = CalibrationData.FromRunFolder(WriteRun(recs), "msp");
        var e = d.CrossFit(folds: 5, seed: 7, bins: 20, threshold: 0.8);

        var labels = d.Correct.Select(x => x ? 1.0 : 0.0).ToList();
        e.EceRaw.Should().BeApproximately(UncertaintyMetrics.Ece(d.Confidence!, labels, 20), 1e-12);
        e.Accuracy.Should().BeApproximately(labels.Average(), 1e-12);
        e.EceRaw.Should().BeGreaterThan(0.2);
        e.EceCalibrated.Should().BeLessThan(e.EceRaw!.Value / 2);
        e.AnsweredShare.Should().BeInRange(0.3, 0.45);   // ≈ the 80 answers with U < 2
        e.AnsweredAccuracy.Should().BeGreaterThan(e.Accuracy);
    }

    [Fact]
    public void Cross_fitting_needs_enough_samples()
    {
        var d = new CalibrationData("msp", ["a", "b"], [1, 2], null, [true, false], 0);
        var act = () => d.CrossFit(folds: 5);
        act.Should().Throw<ArgumentException>().WithMessage("*2 ≤ folds ≤ samples (got 5 folds for 2 samples)*");
        d.CrossFit(folds: 2).EceRaw.Should().BeNull();
    }
}
