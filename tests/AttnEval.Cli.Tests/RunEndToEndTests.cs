using System.Diagnostics;
using System.Text.Json.Nodes;

namespace AttnEval.Cli.Tests;

[Collection("attneval processes")]
public sealed class RunEndToEndTests
{
    private static string RunDirOf(string workDir, string outDir = "runs") => Directory.GetDirectories(Path.Combine(workDir, outDir)).Single();

    private static List<JsonObject> Records(string runDir) =>
        File.ReadAllLines(Path.Combine(runDir, "samples.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();

    [Fact]
    public void Run_writes_the_run_folder_and_a_throwing_metric_costs_one_value()
    {
        var work = AttnEvalProcess.FreshWorkDir();
        var (code, stdout, stderr) = AttnEvalProcess.Run(work, ["run", "fake-run.yaml", .. AttnEvalProcess.PluginArgs()]);
        code.Should().Be(0, stderr);
        stdout.Should().Contain("fake-run: 24 samples");

        var dir = RunDirOf(work);
        Directory.GetFiles(dir).Select(Path.GetFileName).Should().BeEquivalentTo(
            ["recipe.resolved.yaml", "manifest.json", "samples.jsonl", "timings.jsonl", "summary.json", "report.html", "run.log"]);
        var records = Records(dir);
        records.Select(r => (string)r["id"]!).Should().Equal(Enumerable.Range(0, 24).Select(i => $"q{i:00}"));

        // fake-flaky was told to throw on q03: that sample has an error for it and values for the others.
        var q03 = records[3];
        ((string)q03["errors"]!["fake-flaky"]!).Should().Contain("told to fail on q03");
        q03["metrics"]!["msp"]!["uncertainty"].Should().NotBeNull();
        records.Where(r => (string)r["id"]! != "q03").Should().OnlyContain(r => r["errors"] == null);

        // Every number can be traced: msp = -sum(log p) of the answer, the judge compares #### values.
        var q01 = records[1];
        ((bool)q01["correct"]!).Should().BeTrue();
        ((string)q01["judge"]!["extracted"]!).Should().Be("87");

        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")))!;
        ((int)summary["n_samples"]!).Should().Be(24);
        ((int)summary["methods"]!["fake-flaky"]!["n"]!).Should().Be(23);
        ((int)summary["methods"]!["fake-flaky"]!["errors"]!).Should().Be(1);
        // The fake model's log-probabilities separate its right and wrong answers perfectly.
        ((double)summary["methods"]!["msp"]!["auroc"]!["value"]!).Should().Be(1.0);
        summary["methods"]!["mean-token-entropy"]!["ece"]!["value"].Should().BeNull("an entropy has no confidence");

        var html = File.ReadAllText(Path.Combine(dir, "report.html"));
        html.Should().Contain("<th>msp</th>").And.Contain("error: InvalidOperationException: fake-flaky was told to fail on q03")
            .And.Contain("<th>cost</th>", "each method's added time is a column");
        stdout.Should().Contain("cost: added time as a share of greedy generation");

        // run.log holds what the console printed: status and progress lines (stderr), then the final table (stdout).
        var log = File.ReadAllLines(Path.Combine(dir, "run.log"));
        log[0].Should().StartWith("loading model ", "lines printed before the run folder existed are kept");
        log.Should().Contain($"run folder: {dir}").And.Contain(l => l.StartsWith("[24/24] 100%", StringComparison.Ordinal));
        log.Should().ContainInOrder(stdout.TrimEnd('\n').Split('\n'));

        // manifest.json: when the run started and ended, and how long it took.
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "manifest.json")))!;
        var started = DateTime.Parse((string)manifest["started_utc"]!, null, System.Globalization.DateTimeStyles.RoundtripKind);
        var ended = DateTime.Parse((string)manifest["ended_utc"]!, null, System.Globalization.DateTimeStyles.RoundtripKind);
        ended.Should().BeAfter(started).And.BeCloseTo(DateTime.UtcNow, TimeSpan.FromMinutes(5));
        ((double)manifest["duration_s"]!).Should().BeApproximately((ended - started).TotalSeconds, 0.002).And.BePositive();
        manifest["resumed_utc"].Should().BeNull();
    }

    [Fact]
    public void Run_json_ends_with_one_object_of_the_summary_s_numbers_and_prints_no_table()
    {
        var work = AttnEvalProcess.FreshWorkDir();
        var (code, stdout, stderr) = AttnEvalProcess.Run(work, ["run", "fake-run.yaml", "--json", .. AttnEvalProcess.PluginArgs()]);
        code.Should().Be(0, stderr);
        var dir = RunDirOf(work);
        stdout.Trim().Split('\n').Should().ContainSingle("standard output carries the JSON object alone; progress is on standard error");
        stderr.Should().Contain("[24/24] 100%");
        var json = JsonNode.Parse(stdout)!;
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")))!;
        ((string?)json["kind"]).Should().Be("uncertainty");
        ((string?)json["run_dir"]).Should().Be(dir);
        ((string?)json["report"]).Should().Be(Path.Combine(dir, "report.html"));
        ((int)json["n_samples"]!).Should().Be(24);
        ((double)json["accuracy"]!).Should().Be((double)summary["accuracy"]!);
        json["methods"]!.AsObject().Select(kv => kv.Key).Should().Equal(summary["methods"]!.AsObject().Select(kv => kv.Key));
        ((double)json["methods"]!["msp"]!["auroc"]!["value"]!).Should().Be(1.0, "the fake model's log-probabilities separate its answers");
        ((double)json["methods"]!["msp"]!["auroc"]!["ci_low"]!).Should().Be((double)summary["methods"]!["msp"]!["auroc"]!["ci_low"]!);
        ((int)json["methods"]!["fake-flaky"]!["n"]!).Should().Be(23);
        json["methods"]!["mean-token-entropy"]!["ece"]!["value"].Should().BeNull("an entropy has no confidence");
        ((double)json["methods"]!["msp"]!["cost"]!).Should().Be((double)summary["cost"]!["methods"]!["msp"]!["fraction_of_generation"]!);
    }

    [Fact]
    public void Report_re_renders_from_the_run_folder_and_escapes_model_text()
    {
        var work = AttnEvalProcess.FreshWorkDir();
        AttnEvalProcess.Run(work, ["run", "fake-run.yaml", .. AttnEvalProcess.PluginArgs()]).ExitCode.Should().Be(0);
        var dir = RunDirOf(work);
        // Plant hostile text in a finished record, as a model could produce it.
        var lines = File.ReadAllLines(Path.Combine(dir, "samples.jsonl"));
        var rec = JsonNode.Parse(lines[0])!.AsObject();
        rec["answer"] = "<script>alert(1)</script>";
        lines[0] = rec.ToJsonString();
        File.WriteAllLines(Path.Combine(dir, "samples.jsonl"), lines);
        File.Delete(Path.Combine(dir, "report.html"));

        var (code, stdout, _) = AttnEvalProcess.Run(work, "report", dir);
        code.Should().Be(0);
        stdout.Trim().Should().Be(Path.Combine(dir, "report.html"));
        var html = File.ReadAllText(Path.Combine(dir, "report.html"));
        html.Should().NotContain("<script>alert(1)</script>").And.Contain("&lt;script&gt;alert(1)&lt;/script&gt;");
    }

    [Fact]
    public void Killed_run_resumes_to_the_same_records_and_summary()
    {
        var work = AttnEvalProcess.FreshWorkDir();
        string[] args = ["run", "fake-run.yaml", "--set", "model.path=fake-slow-model.json", .. AttnEvalProcess.PluginArgs()];

        // 1. Start, wait until a few samples are on disk, then SIGKILL (Process.Kill sends SIGKILL on Unix).
        using (var p = Process.Start(AttnEvalProcess.StartInfo(work, args))!)
        {
            var sw = Stopwatch.StartNew();
            string? samples = null;
            while (sw.Elapsed < TimeSpan.FromMinutes(2))
            {
                samples = Directory.Exists(Path.Combine(work, "runs"))
                    ? Directory.GetFiles(Path.Combine(work, "runs"), "samples.jsonl", SearchOption.AllDirectories).FirstOrDefault() : null;
                if (samples is not null && File.ReadAllLines(samples).Length >= 6) break;
                Thread.Sleep(50);
            }
            p.HasExited.Should().BeFalse("the slow fake model needs several seconds");
            p.Kill();
            p.WaitForExit();
        }
        var dir = RunDirOf(work);
        File.Exists(Path.Combine(dir, "summary.json")).Should().BeFalse();
        var partial = Records(dir).Count;
        partial.Should().BeInRange(6, 23);

        // 2. Resume in the same folder.
        var (code, _, stderr) = AttnEvalProcess.Run(work, [.. args, "--resume", dir]);
        code.Should().Be(0, stderr);
        stderr.Should().Contain($"resuming: {partial} of 24 samples already done");
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "manifest.json")))!;
        manifest["resumed_utc"]!.AsArray().Should().ContainSingle();
        ((double)manifest["duration_s"]!).Should().BePositive();
        File.ReadAllText(Path.Combine(dir, "run.log")).Should().Contain("resuming:", "the resumed attempt appends to the log");

        // 3. An uninterrupted run of the same recipe.
        var (code2, _, stderr2) = AttnEvalProcess.Run(work, [.. args, "--set", "output.dir=clean"]);
        code2.Should().Be(0, stderr2);
        var clean = RunDirOf(work, "clean");

        var resumed = Records(dir);
        resumed.Select(r => (string)r["id"]!).Should().OnlyHaveUniqueItems().And.HaveCount(24);
        resumed.Select(r => r.ToJsonString()).Should().Equal(Records(clean).Select(r => r.ToJsonString()));
        DeterminismAndRecipeTests.WithoutCost(dir).Should().Be(DeterminismAndRecipeTests.WithoutCost(clean));
    }

    [Fact]
    public void Resume_refuses_a_changed_recipe_and_keeps_the_finished_work()
    {
        var work = AttnEvalProcess.FreshWorkDir();
        AttnEvalProcess.Run(work, ["run", "fake-run.yaml", "--limit", "5", .. AttnEvalProcess.PluginArgs()]).ExitCode.Should().Be(0);
        var dir = RunDirOf(work);
        var before = File.ReadAllText(Path.Combine(dir, "samples.jsonl"));

        var (code, _, stderr) = AttnEvalProcess.Run(work, ["run", "fake-run.yaml", "--limit", "6", "--resume", dir, .. AttnEvalProcess.PluginArgs()]);
        code.Should().Be(2);
        stderr.Should().Contain("the recipe changed since this run started");
        File.ReadAllText(Path.Combine(dir, "samples.jsonl")).Should().Be(before);
    }

    [Fact]
    public void A_dataset_line_that_is_not_json_is_reported_with_its_line_and_nothing_is_written()
    {
        var work = AttnEvalProcess.FreshWorkDir();
        var lines = File.ReadAllLines(Path.Combine(work, "sums.jsonl")).ToList();
        lines[6] = "{\"id\":\"q06\",\"question\":\"What is 1+1?\" \"answer\":\"#### 2\"}";
        File.WriteAllLines(Path.Combine(work, "sums.jsonl"), lines);

        var (code, _, stderr) = AttnEvalProcess.Run(work, ["run", "fake-run.yaml", .. AttnEvalProcess.PluginArgs()]);
        code.Should().Be(2);
        stderr.Should().Contain("sums.jsonl:7");
        Directory.Exists(Path.Combine(work, "runs")).Should().BeFalse();
    }
}

[CollectionDefinition("attneval processes", DisableParallelization = true)]
public sealed class AttnEvalProcessCollection;
