using AttnEval.Core.Judges;
using AttnEval.Core.Plugins;
using AttnEval.Core.Recipes;
using AttnEval.Core.Reports;
using AttnEval.Core.Runs;
using AttnEval.Core.Running;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;
using AttnEval.Abstractions;

namespace AttnEval.Cli;

/// <summary>The actions behind each command. Each returns the process exit code.</summary>
internal static partial class Commands
{
    /// <summary>Loads the plugin host (built-in judges first), printing one line per plugin that failed to load.</summary>
    public static PluginHost LoadHost(string[]? pluginDirs, bool quiet = false)
    {
        var host = new PluginHost().AddBuiltIn("core", s =>
        {
            foreach (var j in BuiltInJudges.All) s.AddSingleton(j);
        });
        host.LoadFrom(pluginDirs is { Length: > 0 } ? pluginDirs : PluginHost.DefaultDirectories());
        if (!quiet)
            foreach (var e in host.Errors) Console.Error.WriteLine($"attneval: plugin {e}");
        return host;
    }

    /// <summary>Runs a recipe. <paramref name="limit"/> (<c>--limit N</c>) becomes the override <c>dataset.limit=N</c> after the
    /// <c>--set</c>s; a recipe error it causes is reported as the <c>--limit</c> option the user typed, not as a <c>--set</c>.</summary>
    public static int Run(string recipePath, IReadOnlyList<string> sets, int? limit, string? resume, string[]? pluginDirs)
    {
        var overrides = limit is { } n ? [.. sets, $"dataset.limit={n}"] : sets;
        using var host = LoadHost(pluginDirs);
        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cts.Cancel(); Console.Error.WriteLine("attneval: stopping after the current sample…"); };
        Console.CancelKeyPress += onCancel;
        string? runDir = resume;
        // run.log in the run folder gets what the console prints from here on (the observer before the tee: see ConsoleObserver).
        using var log = new RunLog();
        var observer = new ConsoleObserver(log);
        var (stdout, stderr) = (Console.Out, Console.Error);
        Console.SetOut(log.Tee(stdout));
        Console.SetError(log.Tee(stderr));
        try
        {
            var recipe = new RecipeLoader(host.Catalog).Load(recipePath, overrides);
            var watch = new DirCapture(observer, d => runDir = d);
            runDir = observer.Run(() => recipe.Kind switch
            {
                RecipeKind.Uncertainty => new UncertaintyRunner(host.Catalog, watch, d => AttnEval.Reporting.RunReport.Write(d, FigureWarning)).Run(recipe, resume, cts.Token),
                RecipeKind.HeadAttribution => new HeadAnalysisRunner(host.Catalog, watch).Run(recipe, resume, cts.Token),
                RecipeKind.DataScoring => new DataScoringRunner(host.Catalog, watch).Run(recipe, resume, cts.Token),
                RecipeKind.AgentRobustness => new AgentRobustnessRunner(host.Catalog, watch, AgentServices()).Run(recipe, resume, cts.Token),
                _ => throw new RunInputException($"{recipe.SourceFile}: kind '{recipe.Kind.ToRecipeName()}' has no runner yet"),
            });
            if (recipe.Kind == RecipeKind.AgentRobustness)
            {
                AttnEval.Reporting.RunReport.Write(runDir, FigureWarning);
                PrintRobustnessSummary(runDir);
            }
            else if (recipe.Kind == RecipeKind.Uncertainty) PrintSummary(runDir);
            else
            {
                // A head analysis that failed as a whole, or that ran but supports no finding, is a failed run (its records
                // and the others' results are kept).
                var (failed, inconclusive) = PrintAnalysisSummary(runDir);
                if (failed.Count > 0)
                    Console.Error.WriteLine($"attneval: analysis {string.Join(", ", failed.Select(f => $"'{f}'"))} failed; see {Path.Combine(runDir, RunFolder.SummaryFile)}");
                if (inconclusive.Count > 0)
                    Console.Error.WriteLine($"attneval: analysis {string.Join(", ", inconclusive.Select(f => $"'{f}'"))} is inconclusive (no finding); see {Path.Combine(runDir, RunFolder.SummaryFile)}");
                if (failed.Count + inconclusive.Count > 0) return Cli.Failed;
            }
            return Cli.Ok;
        }
        catch (RecipeException e)
        {
            foreach (var err in e.Errors)
                Console.Error.WriteLine(limit is not null && err.File == RecipeError.CommandLine && err.Column == overrides.Count
                    ? $"{RecipeError.CommandLine}: --limit {limit}: {StripSetPrefix(err.Message, overrides[^1])}"
                    : err.ToString());
            return Cli.BadInput;
        }
        catch (Exception e) when (e is RunInputException or RunFolderException)
        {
            Console.Error.WriteLine($"attneval: {e.Message}");
            return Cli.BadInput;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine($"attneval: interrupted; finished samples are kept. Continue with: attneval run {recipePath} --resume {runDir}");
            return Cli.Failed;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"attneval: run failed: {e.GetType().Name}: {e.Message}" + (runDir is null ? "" : $"; finished samples are kept in {runDir} (--resume {runDir})"));
            return Cli.Failed;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
            Console.SetOut(stdout);
            Console.SetError(stderr);
        }
    }

    /// <summary>The message without the <c>--set '&lt;text&gt;': </c> prefix the loader gives errors of an override.</summary>
    private static string StripSetPrefix(string message, string text)
    {
        var prefix = $"--set '{text}': ";
        return message.StartsWith(prefix, StringComparison.Ordinal) ? message[prefix.Length..] : message;
    }

    public static int Validate(string[] recipes, string[] overrides, string[]? pluginDirs)
    {
        using var host = LoadHost(pluginDirs);
        var loader = new RecipeLoader(host.Catalog);
        int bad = 0;
        foreach (var path in recipes)
        {
            try
            {
                loader.Load(path, overrides);
                Console.WriteLine($"{path}: ok");
            }
            catch (RecipeException e)
            {
                bad++;
                foreach (var err in e.Errors) Console.WriteLine(err);
            }
        }
        return bad == 0 ? Cli.Ok : Cli.BadInput;
    }

    public static int Report(string runDir)
    {
        try
        {
            Console.WriteLine(AttnEval.Reporting.RunReport.Write(Path.GetFullPath(runDir), FigureWarning));
            return Cli.Ok;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or InvalidDataException)
        {
            Console.Error.WriteLine($"attneval: {e.Message}");
            return Cli.BadInput;
        }
    }

    private static void FigureWarning(Exception e) =>
        Console.Error.WriteLine($"attneval: figures not drawn ({e.GetType().Name}: {e.Message}); report.html has the tables only");

    private static void PrintSummary(string runDir)
    {
        var summary = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(runDir, RunFolder.SummaryFile)))!;
        var metrics = summary["evaluation_metrics"]!.AsArray().Select(x => (string)x!).ToList();
        Console.WriteLine($"{summary["name"]}: {summary["n_samples"]} samples, accuracy {Fmt(summary["accuracy"])}, {summary["n_errors"]} sample errors");
        int width = Math.Max(22, summary["methods"]!.AsObject().Select(kv => kv.Key.Length + 1).DefaultIfEmpty(0).Max());
        var cost = summary["cost"]?["methods"];
        Console.WriteLine("method".PadRight(width) + string.Concat(metrics.Select(m => m.PadLeft(10))) + (cost is null ? "" : "      cost"));
        foreach (var (name, node) in summary["methods"]!.AsObject())
            Console.WriteLine(name.PadRight(width) + string.Concat(metrics.Select(m => Fmt(node?[m]?["value"]).PadLeft(10)))
                + (cost?[name]?["fraction_of_generation"] is System.Text.Json.Nodes.JsonValue f && f.TryGetValue<double>(out var fr)
                    ? (fr * 100).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture).PadLeft(9) + "%" : ""));
        if (summary["cost"] is { } c)
            Console.WriteLine($"cost: added time as a share of greedy generation ({Fmt(c["generate_seconds"])} s, batches of {c["batch_size"]}; sampled answers {Fmt(c["samples_seconds"])} s)");
        Console.WriteLine($"run folder: {runDir}");
        Console.WriteLine($"report:     {Path.Combine(runDir, "report.html")}");
    }

    /// <summary>Head-attribution: each analysis' status and top 5 heads; data-scoring: each scorer's count, mean and selection.</summary>
    /// <summary>Host services for agent evaluations: the confidence middleware (flag policy, no threshold effect) as a
    /// <c>Func&lt;IChatClient, IChatClient&gt;</c>, scoring each answer white-box when the client attached a score, else
    /// from its token log-probabilities as the geometric-mean token probability (specs/head-methods.md §4.2.3, source 2).</summary>
    private static IServiceProvider AgentServices()
    {
        var services = new ServiceCollection();
        services.AddSingleton<Func<Microsoft.Extensions.AI.IChatClient, Microsoft.Extensions.AI.IChatClient>>(inner =>
            new AttnEval.SemanticKernel.ConfidenceChatClient(inner, new AttnEval.SemanticKernel.ConfidenceGate(new AttnEval.SemanticKernel.ConfidenceGateOptions
            {
                Policy = AttnEval.SemanticKernel.GatePolicy.Flag,
                Threshold = 0,
                Scorer = new AttnEval.SemanticKernel.CompositeConfidenceScorer(
                    new AttnEval.SemanticKernel.WhiteBoxConfidenceScorer(),
                    new AttnEval.SemanticKernel.LogProbConfidenceScorer(AttnEval.SemanticKernel.LogProbAggregation.Perplexity)),
            })));
        return services.BuildServiceProvider();
    }

    private static void PrintRobustnessSummary(string runDir)
    {
        var summary = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(runDir, RunFolder.SummaryFile)))!;
        Console.WriteLine($"{summary["name"]}: {summary["n_samples"]} episodes, {summary["n_errors"]} with errors");
        Console.WriteLine($"{"condition",-34} {"N",5} {"acc",6} {"ΔAcc [95% CI]",24} {"McNemar p",10} {"flip",6} {"mislead",8} {"AUROC",6} {"ECE",6}");
        foreach (var (name, n) in summary["analysis"]?["conditions"]?.AsObject() ?? [])
        {
            var d = n?["delta_acc"];
            var ci = d is null ? "" : d["ci_low"] is null ? Fmt(d["value"]) : $"{Fmt(d["value"])} [{Fmt(d["ci_low"])}, {Fmt(d["ci_high"])}]";
            Console.WriteLine($"{name,-34} {n?["n"],5} {Fmt(n?["accuracy"]),6} {ci,24} {Fmt(n?["mcnemar"]?["p_value"]),10} {Fmt(n?["flip_rate"]?["value"]),6} {Fmt(n?["mislead_rate"]),8} {Fmt(n?["auroc"]),6} {Fmt(n?["ece"]),6}");
        }
        Console.WriteLine($"run folder: {runDir}");
        Console.WriteLine($"episodes:   {Path.Combine(runDir, AgentRobustnessRunner.EpisodesFile)}");
        Console.WriteLine($"report:     {Path.Combine(runDir, "report.html")}");
    }

    /// <summary>Prints the analyses and scorers of a head-attribution or data-scoring run: per analysis its top heads and
    /// the conclusion its summary states (e.g. the ablation verdict, a degenerate head set), or why it failed or is
    /// inconclusive; returns the analyses that failed and those that are inconclusive.</summary>
    private static (List<string> Failed, List<string> Inconclusive) PrintAnalysisSummary(string runDir)
    {
        var summary = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(runDir, RunFolder.SummaryFile)))!;
        Console.WriteLine($"{summary["name"]}: {summary["n_samples"]} records, {summary["n_errors"]} with errors");
        var indent = "".PadRight(22);
        foreach (var (name, node) in summary["analyses"]?.AsObject() ?? [])
        {
            var top = node?["top"]?.AsArray().Take(5).Select(t => $"{t!["head"]} {Fmt(t["score"])}") ?? [];
            Console.WriteLine((string?)node?["status"] switch
            {
                "ok" => $"{name.PadRight(22)} top: {string.Join(", ", top)}",
                "error" => $"{name.PadRight(22)} error: {node?["error"]}",
                "inconclusive" => $"{name.PadRight(22)} inconclusive: {node?["warning"]}",
                var other => $"{name.PadRight(22)} {other}",
            });
            if (node?["conclusion"] is { } conclusion) Console.WriteLine($"{indent} {conclusion}");
        }
        foreach (var (name, node) in summary["scorers"]?.AsObject() ?? [])
        {
            Console.WriteLine($"{name.PadRight(22)} {node?["n"]} scored, mean {Fmt(node?["mean"])}, {node?["selection"]?["n_selected"]} selected → {node?["selection"]?["file"]}");
            if (node?["label"] is System.Text.Json.Nodes.JsonObject label)
                Console.WriteLine($"{"".PadRight(22)} {label["field"]}: AUROC {Fmt(label["auroc"])} (mean score {Fmt(label["mean_true"])} for {label["n_true"]} true, {Fmt(label["mean_false"])} for {label["n_false"]} false)");
        }
        Console.WriteLine($"run folder: {runDir}");
        Console.WriteLine($"report:     {Path.Combine(runDir, "report.html")}");
        var analyses = summary["analyses"]?.AsObject() ?? [];
        return (analyses.Where(kv => (string?)kv.Value?["status"] == "error").Select(kv => kv.Key).ToList(),
                analyses.Where(kv => (string?)kv.Value?["status"] == "inconclusive").Select(kv => kv.Key).ToList());
    }

    private static string Fmt(System.Text.Json.Nodes.JsonNode? n) =>
        n is null ? "n/a" : ((double)n).ToString("0.000", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Remembers the run folder as soon as it exists, for the interrupt/failure messages.</summary>
    private sealed class DirCapture(IRunObserver inner, Action<string> onDir) : IRunObserver
    {
        public void Started(string runDir, int total, int alreadyDone) { onDir(runDir); inner.Started(runDir, total, alreadyDone); }
        public void SampleFinished(string sampleId, bool hadError) => inner.SampleFinished(sampleId, hadError);
        public void Status(string message) => inner.Status(message);
    }
}
