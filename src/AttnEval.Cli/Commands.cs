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
    /// <param name="recipePath">The recipe file.</param>
    /// <param name="sets">The <c>--set</c> overrides.</param>
    /// <param name="limit">The <c>--limit</c> option.</param>
    /// <param name="resume">The run folder to resume, or null.</param>
    /// <param name="pluginDirs">Plugin folders.</param>
    /// <param name="json">End with <see cref="RunSummaryJson"/> on standard output instead of the tables.</param>
    public static int Run(string recipePath, IReadOnlyList<string> sets, int? limit, string? resume, string[]? pluginDirs, bool json = false)
    {
        var overrides = limit is { } n ? [.. sets, $"dataset.limit={n}"] : sets;
        using var host = LoadHost(pluginDirs);
        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cts.Cancel(); Console.Error.WriteLine("attneval: stopping after the current sample…"); };
        Console.CancelKeyPress += onCancel;
        string? runDir = resume;
        // run.log in the run folder gets what the console prints from here on (the observer before the tee: see ConsoleObserver).
        using var log = new RunLog();
        var observer = new ConsoleObserver(log, plain: json);
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
            // Uncertainty runs draw their figures in the runner; the others get theirs (and the report showing them) here.
            if (recipe.Kind != RecipeKind.Uncertainty) AttnEval.Reporting.RunReport.Write(runDir, FigureWarning);
            if (json) Console.WriteLine(RunSummaryJson(runDir).ToJsonString(JsonOutput));
            if (recipe.Kind == RecipeKind.AgentRobustness)
            {
                if (!json) PrintRobustnessSummary(runDir);
            }
            else if (recipe.Kind == RecipeKind.Uncertainty)
            {
                if (!json) PrintSummary(runDir);
            }
            else
            {
                // A head analysis that failed as a whole, or that ran but supports no finding, is a failed run (its records
                // and the others' results are kept).
                var (failed, inconclusive) = json ? AnalysisOutcome(runDir) : PrintAnalysisSummary(runDir);
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

    /// <summary>Checks recipes: one <c>path: ok</c> or <c>file:line:col: message</c> line each, or with
    /// <paramref name="json"/> one JSON array of <c>{"recipe", "ok", "errors": [{"file", "line", "column", "message"}]}</c>.</summary>
    public static int Validate(string[] recipes, string[] overrides, string[]? pluginDirs, bool json = false)
    {
        using var host = LoadHost(pluginDirs);
        var loader = new RecipeLoader(host.Catalog);
        int bad = 0;
        var results = new System.Text.Json.Nodes.JsonArray();
        foreach (var path in recipes)
        {
            IReadOnlyList<RecipeError> errors = [];
            try
            {
                loader.Load(path, overrides);
            }
            catch (RecipeException e)
            {
                bad++;
                errors = e.Errors;
            }
            if (json)
                results.Add(new System.Text.Json.Nodes.JsonObject
                {
                    ["recipe"] = path,
                    ["ok"] = errors.Count == 0,
                    ["errors"] = new System.Text.Json.Nodes.JsonArray([.. errors.Select(err => (System.Text.Json.Nodes.JsonNode)new System.Text.Json.Nodes.JsonObject
                    {
                        ["file"] = err.File, ["line"] = err.Line, ["column"] = err.Column, ["message"] = err.Message,
                    })]),
                });
            else if (errors.Count == 0) Console.WriteLine($"{path}: ok");
            else foreach (var err in errors) Console.WriteLine(err);
        }
        if (json) Console.WriteLine(results.ToJsonString(JsonOutput));
        return bad == 0 ? Cli.Ok : Cli.BadInput;
    }

    private static readonly System.Text.Json.JsonSerializerOptions JsonOutput = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// The end-of-run summary of <c>run --json</c>, one object: <c>kind</c>, <c>name</c>, <c>run_dir</c>, <c>report</c>,
    /// <c>summary</c> (the path of summary.json), <c>n_samples</c>, <c>n_errors</c>, and per kind what the tables print:
    /// uncertainty: <c>accuracy</c> and per method <c>n</c>, each evaluation metric as <c>{value, ci_low, ci_high}</c> and
    /// <c>cost</c> (share of greedy generation); agent-robustness: <c>episodes</c> and per condition <c>n</c>,
    /// <c>accuracy</c>, <c>delta_acc</c>, <c>mcnemar_p</c>, <c>flip_rate</c>, <c>mislead_rate</c>, <c>auroc</c>, <c>ece</c>;
    /// head-attribution: per analysis <c>status</c>, <c>top</c> (5 heads), <c>conclusion</c>, <c>warning</c>, <c>error</c>;
    /// data-scoring: per scorer <c>n</c>, <c>mean</c>, <c>n_selected</c>, <c>selected_file</c>, <c>label</c>. Numbers are
    /// the summary's own (unrounded); a missing value is null.
    /// </summary>
    internal static System.Text.Json.Nodes.JsonObject RunSummaryJson(string runDir)
    {
        var summary = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(runDir, RunFolder.SummaryFile)))!.AsObject();
        static System.Text.Json.Nodes.JsonNode? Copy(System.Text.Json.Nodes.JsonNode? n) => n?.DeepClone();
        var result = new System.Text.Json.Nodes.JsonObject
        {
            ["kind"] = Copy(summary["kind"]),
            ["name"] = Copy(summary["name"]),
            ["run_dir"] = runDir,
            ["report"] = Path.Combine(runDir, "report.html"),
            ["summary"] = Path.Combine(runDir, RunFolder.SummaryFile),
            ["n_samples"] = Copy(summary["n_samples"]),
            ["n_errors"] = Copy(summary["n_errors"]),
        };
        if (summary["methods"] is System.Text.Json.Nodes.JsonObject methods)
        {
            result["accuracy"] = Copy(summary["accuracy"]);
            var metrics = summary["evaluation_metrics"]?.AsArray().Select(x => (string)x!).ToList() ?? [];
            var table = new System.Text.Json.Nodes.JsonObject();
            foreach (var (name, node) in methods)
            {
                var row = new System.Text.Json.Nodes.JsonObject { ["n"] = Copy(node?["n"]) };
                foreach (var m in metrics)
                    row[m] = new System.Text.Json.Nodes.JsonObject { ["value"] = Copy(node?[m]?["value"]), ["ci_low"] = Copy(node?[m]?["ci_low"]), ["ci_high"] = Copy(node?[m]?["ci_high"]) };
                row["cost"] = Copy(summary["cost"]?["methods"]?[name]?["fraction_of_generation"]);
                table[name] = row;
            }
            result["methods"] = table;
        }
        if (summary["analysis"]?["conditions"] is System.Text.Json.Nodes.JsonObject conditions)
        {
            result["episodes"] = Path.Combine(runDir, AgentRobustnessRunner.EpisodesFile);
            result["conditions"] = new System.Text.Json.Nodes.JsonObject(conditions.Select(kv => KeyValuePair.Create(kv.Key, (System.Text.Json.Nodes.JsonNode?)new System.Text.Json.Nodes.JsonObject
            {
                ["n"] = Copy(kv.Value?["n"]), ["accuracy"] = Copy(kv.Value?["accuracy"]), ["delta_acc"] = Copy(kv.Value?["delta_acc"]),
                ["mcnemar_p"] = Copy(kv.Value?["mcnemar"]?["p_value"]), ["flip_rate"] = Copy(kv.Value?["flip_rate"]), ["mislead_rate"] = Copy(kv.Value?["mislead_rate"]),
                ["auroc"] = Copy(kv.Value?["auroc"]), ["ece"] = Copy(kv.Value?["ece"]),
            })));
        }
        if (summary["analyses"] is System.Text.Json.Nodes.JsonObject analyses)
            result["analyses"] = new System.Text.Json.Nodes.JsonObject(analyses.Select(kv => KeyValuePair.Create(kv.Key, (System.Text.Json.Nodes.JsonNode?)new System.Text.Json.Nodes.JsonObject
            {
                ["status"] = Copy(kv.Value?["status"]),
                ["top"] = new System.Text.Json.Nodes.JsonArray([.. (kv.Value?["top"]?.AsArray() ?? []).Take(5).Select(Copy)]),
                ["conclusion"] = Copy(kv.Value?["conclusion"]), ["warning"] = Copy(kv.Value?["warning"]), ["error"] = Copy(kv.Value?["error"]),
            })));
        if (summary["scorers"] is System.Text.Json.Nodes.JsonObject scorers)
            result["scorers"] = new System.Text.Json.Nodes.JsonObject(scorers.Select(kv => KeyValuePair.Create(kv.Key, (System.Text.Json.Nodes.JsonNode?)new System.Text.Json.Nodes.JsonObject
            {
                ["n"] = Copy(kv.Value?["n"]), ["mean"] = Copy(kv.Value?["mean"]), ["n_selected"] = Copy(kv.Value?["selection"]?["n_selected"]),
                ["selected_file"] = Copy(kv.Value?["selection"]?["file"]), ["label"] = Copy(kv.Value?["label"]),
            })));
        return result;
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

    /// <summary>The analyses of a head-attribution run that failed and those that are inconclusive (what
    /// <see cref="PrintAnalysisSummary"/> returns, without printing).</summary>
    private static (List<string> Failed, List<string> Inconclusive) AnalysisOutcome(string runDir)
    {
        var analyses = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(runDir, RunFolder.SummaryFile)))?["analyses"]?.AsObject() ?? [];
        return (analyses.Where(kv => (string?)kv.Value?["status"] == "error").Select(kv => kv.Key).ToList(),
                analyses.Where(kv => (string?)kv.Value?["status"] == "inconclusive").Select(kv => kv.Key).ToList());
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
        return AnalysisOutcome(runDir);
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
