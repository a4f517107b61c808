namespace AttnEval.Cli.Tests;

/// <summary>Issue 14, item 4: each CLI message names what the user typed and what to do.</summary>
[Collection("attneval processes")]
public sealed class CliMessageTests
{
    private static (int Code, string Stdout, string Stderr) Run(string work, params string[] args) =>
        AttnEvalProcess.Run(work, [.. args, .. AttnEvalProcess.PluginArgs()]);

    [Fact]
    public void Limit_errors_name_the_limit_option_not_a_set_the_user_never_typed()
    {
        var work = AttnEvalProcess.FreshWorkDir();
        var (code, _, stderr) = Run(work, "run", "fake-run.yaml", "--limit", "-3");
        code.Should().Be(2);
        stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)[0].Should().Be("attneval: --limit -3: expected a number of samples, 1 or more");
        stderr.Should().NotContain("--set").And.NotContain("index");

        // A recipe problem the limit causes (here: no dataset to limit) is reported at --limit as well.
        (code, _, stderr) = Run(work, "run", "fake-run.yaml", "--set", "dataset=", "--limit", "5");
        code.Should().Be(2);
        stderr.Trim().Should().Be("<command line>: --limit 5: dataset.path is required");
        Directory.Exists(Path.Combine(work, "runs")).Should().BeFalse();
    }

    [Fact]
    public void An_unwritable_output_dir_is_refused_by_validate_and_by_run_before_the_model_loads()
    {
        var work = AttnEvalProcess.FreshWorkDir();
        var blocked = Path.Combine(work, "fake-model.json", "runs");
        var expected = $"<command line>:0:1: --set 'output.dir={blocked}': output.dir: '{blocked}' cannot be created: {Path.Combine(work, "fake-model.json")} is a file; pass a folder with --set output.dir=<folder>";

        var (code, stdout, _) = Run(work, "validate", "fake-run.yaml", "--set", $"output.dir={blocked}");
        code.Should().Be(2);
        stdout.Trim().Should().Be(expected);

        (code, stdout, var stderr) = Run(work, "run", "fake-run.yaml", "--set", $"output.dir={blocked}");
        code.Should().Be(2);
        stderr.Trim().Should().Be(expected);
        stdout.Should().NotContain("loading model");

        if (OperatingSystem.IsLinux())
        {
            (code, stdout, _) = Run(work, "validate", "fake-run.yaml", "--set", "output.dir=/proc/attneval-runs");
            code.Should().Be(2);
            stdout.Trim().Should().StartWith("<command line>:0:1: --set 'output.dir=/proc/attneval-runs': output.dir: '/proc/attneval-runs' is not writable: cannot create entries in /proc (");
        }
    }

    [Fact]
    public void Report_tells_a_missing_folder_and_a_folder_that_is_not_a_run_from_an_unfinished_run()
    {
        var work = AttnEvalProcess.FreshWorkDir();
        var missing = Path.Combine(work, "runs", "no-such-run");
        var (code, _, stderr) = AttnEvalProcess.Run(work, "report", missing);
        code.Should().Be(2);
        stderr.Trim().Should().Be($"attneval: {missing}: no such folder; expected a run folder written by 'attneval run' (runs/<name>-<utc>/)");

        (code, _, stderr) = AttnEvalProcess.Run(work, "report", work);
        code.Should().Be(2);
        stderr.Trim().Should().Be($"attneval: {work}: not a run folder (no manifest.json); expected a folder written by 'attneval run' (runs/<name>-<utc>/)");

        var unfinished = Path.Combine(work, "runs", "fake-run-20260101-000000");
        Directory.CreateDirectory(unfinished);
        File.WriteAllText(Path.Combine(unfinished, "manifest.json"), "{}");
        (code, _, stderr) = AttnEvalProcess.Run(work, "report", unfinished);
        code.Should().Be(2);
        stderr.Trim().Should().Be($"attneval: {Path.Combine(unfinished, "summary.json")}: no summary (the run has not finished); finish it with: attneval run <recipe> --resume {unfinished}");
    }
}
