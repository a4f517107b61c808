using System.Diagnostics;
using System.Text.Json.Nodes;
using AttnEval.TestSupport;

namespace AttnEval.Cli.Tests;

[Collection("attneval processes")]
public sealed class CustomMetricPluginTests
{
    [Fact]
    public async Task Third_party_plugin_is_built_dropped_into_a_plugins_folder_and_its_values_reach_samples_jsonl()
    {
        var work = AttnEvalProcess.FreshWorkDir();
        var pluginsDir = Path.Combine(work, "my-plugins");
        var project = Path.Combine(SharedData.RepoRoot, "samples", "CustomMetric", "CustomMetric.csproj");

        // Build the sample as its own project into <plugins>/CustomMetric/ (the folder name equals the assembly name).
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "build", project, "-c", AttnEvalProcess.Configuration, $"-p:PluginsDir={pluginsDir}", "-nologo", "-v", "q" })
            psi.ArgumentList.Add(a);
        using (var build = Process.Start(psi)!)
        {
            var output = build.StandardOutput.ReadToEndAsync();
            build.WaitForExit(TimeSpan.FromMinutes(4)).Should().BeTrue();
            build.ExitCode.Should().Be(0, await output);
        }
        File.Exists(Path.Combine(pluginsDir, "CustomMetric", "AttnEval.Abstractions.dll")).Should().BeFalse("the contract comes from the host");

        var (code, _, stderr) = AttnEvalProcess.Run(work, ["run", "fake-run.yaml", "--limit", "6",
            "--set", "metrics=[msp, {name: min-token-probability, skip_last: 1}]", .. AttnEvalProcess.PluginArgs(pluginsDir)]);
        code.Should().Be(0, stderr);

        var runDir = Directory.GetDirectories(Path.Combine(work, "runs")).Single();
        var records = File.ReadAllLines(Path.Combine(runDir, "samples.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        records.Should().HaveCount(6);
        foreach (var r in records)
        {
            // The fake model's log-probabilities are not in the record, but the relation msp >= min-token-probability holds:
            // -sum(log p) over all tokens >= -min(log p) over all but the last.
            var u = (double)r["metrics"]!["min-token-probability"]!["uncertainty"]!;
            var c = (double)r["metrics"]!["min-token-probability"]!["confidence"]!;
            u.Should().BePositive();
            c.Should().BeApproximately(Math.Exp(-u), 1e-12);
            ((double)r["metrics"]!["msp"]!["uncertainty"]!).Should().BeGreaterThanOrEqualTo(u);
        }
    }
}
