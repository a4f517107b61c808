using AttnEval.Core.Judges;
using AttnEval.Core.Kinds;
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
            // One lookup: the recipe's kind runs it (the loader has checked the recipe against the same descriptor).
            var outcome = observer.Run(() => RecipeRun.Run(host.Catalog, recipe, resume, watch, AgentServices(), cts.Token));
            runDir = outcome.RunDir;
            AttnEval.Reporting.RunReport.Write(runDir, host.Catalog.Kinds, FigureWarning);
            if (json) Console.WriteLine(RunSummaryJson(runDir).ToJsonString(JsonOutput));
            else foreach (var line in outcome.Lines) Console.WriteLine(line);
            foreach (var problem in outcome.Problems) Console.Error.WriteLine($"attneval: {problem}");
            if (outcome.Failed) return Cli.Failed;
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

    /// <summary>Re-renders a run folder's figures and <c>report.html</c> with the page of its kind (a plugin's kind needs its plugin).</summary>
    public static int Report(string runDir, string[]? pluginDirs)
    {
        try
        {
            using var host = LoadHost(pluginDirs, quiet: true);
            Console.WriteLine(AttnEval.Reporting.RunReport.Write(Path.GetFullPath(runDir), host.Catalog.Kinds, FigureWarning));
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

    /// <summary>Remembers the run folder as soon as it exists, for the interrupt/failure messages.</summary>
    private sealed class DirCapture(IRunObserver inner, Action<string> onDir) : IRunObserver
    {
        public void Started(string runDir, int total, int alreadyDone) { onDir(runDir); inner.Started(runDir, total, alreadyDone); }
        public void SampleFinished(string sampleId, bool hadError) => inner.SampleFinished(sampleId, hadError);
        public void Status(string message) => inner.Status(message);
    }
}
