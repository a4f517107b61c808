using System.CommandLine;
using AttnEval.Core.Evaluation;
using AttnEval.Core.Reports;
using AttnEval.Core.Runs;

namespace AttnEval.Cli;

/// <summary><c>attneval compare &lt;run-dir&gt; &lt;run-dir&gt;… [--out dir] [--json]</c>: the same uncertainty methods across
/// finished runs side by side, with paired intervals on the samples the runs share (<see cref="RunComparison"/>); writes
/// <c>compare.json</c> and <c>compare.html</c> into the output folder.</summary>
internal static class CompareCommand
{
    public static Command Build()
    {
        var runDirs = new Argument<string[]>("run-dirs") { Description = "Two or more finished uncertainty run folders; the first is the reference of the paired differences", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string?>("--out") { Description = "Folder for compare.json and compare.html (default: compare-<utc> beside the first run)" };
        var json = new Option<bool>("--json") { Description = "Print the comparison as one JSON object instead of tables" };
        var cmd = new Command("compare", "Compare uncertainty runs: every method's metrics side by side, paired AUROC/PRR differences on shared samples, and a report page")
            { runDirs, output, json };
        cmd.SetAction(r => Run(r.GetValue(runDirs)!, r.GetValue(output), r.GetValue(json)));
        return cmd;
    }

    private static int Run(string[] runDirs, string? output, bool json)
    {
        RunComparison comparison;
        try { comparison = RunComparison.Load(runDirs); }
        catch (Exception e) when (e is ArgumentException or IOException or InvalidDataException)
        {
            Console.Error.WriteLine($"attneval: {e.Message}");
            return Cli.BadInput;
        }
        var dir = Path.GetFullPath(output ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(runDirs[0]).TrimEnd(Path.DirectorySeparatorChar))!,
            $"compare-{DateTime.UtcNow:yyyyMMdd-HHmmss}"));
        var node = comparison.ToJson();
        try
        {
            Directory.CreateDirectory(dir);
            RunFolder.WriteAtomic(Path.Combine(dir, "compare.json"), node.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
            RunFolder.WriteAtomic(Path.Combine(dir, "compare.html"), CompareReport.Render(comparison));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"attneval: {dir}: cannot write the comparison ({e.Message})");
            return Cli.Failed;
        }
        if (json) Console.WriteLine(node.ToJsonString());
        else
        {
            foreach (var line in comparison.Describe()) Console.WriteLine(line);
            Console.WriteLine();
            Console.WriteLine($"wrote {Path.Combine(dir, "compare.html")}");
        }
        return Cli.Ok;
    }
}
