using System.Globalization;
using System.Text.Json.Nodes;
using AttnEval.Abstractions;
using AttnEval.Core.Reports;
using AttnEval.Core.Runs;
using AttnEval.Core.Running;

namespace AttnEval.Core.Kinds;

/// <summary>The recipe kinds the host brings (DESIGN.md §6): <c>uncertainty</c>, <c>head-attribution</c>, <c>data-scoring</c> and
/// <c>agent-robustness</c>. Plugins add theirs through <see cref="IRecipeKind"/>.</summary>
public static class BuiltInKinds
{
    /// <summary><c>uncertainty</c>: per-sample estimators scored against a judge (AUROC, PRR, ECE, …); the default kind.</summary>
    public const string Uncertainty = "uncertainty";
    /// <summary><c>head-attribution</c>: model-level head analyses (retrieval heads, safety heads, …).</summary>
    public const string HeadAttribution = "head-attribution";
    /// <summary><c>data-scoring</c>: a score per document of a corpus (AttentionInfluence).</summary>
    public const string DataScoring = "data-scoring";
    /// <summary><c>agent-robustness</c>: search-agent robustness evaluations.</summary>
    public const string AgentRobustness = "agent-robustness";

    /// <summary>The kind of a recipe with no <c>kind:</c>.</summary>
    public const string Default = Uncertainty;

    /// <summary>The four built-in kinds, in documentation order.</summary>
    public static IReadOnlyList<RecipeKindDescriptor> All { get; } =
        [new UncertaintyKind(), new HeadAttributionKind(), new DataScoringKind(), new AgentRobustnessKind()];

    internal static string Fmt(JsonNode? n) =>
        n is null ? "n/a" : ((double)n).ToString("0.000", CultureInfo.InvariantCulture);

    internal static JsonObject ReadSummary(string runDir) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(runDir, RunFolder.SummaryFile)))!.AsObject();

    private sealed class UncertaintyKind : RecipeKindDescriptor
    {
        public override string Name => Uncertainty;
        public override string Description => "per-sample uncertainty estimators scored against a judge (AUROC, PRR, ECE, Brier, AUARC)";
        public override DatasetUse Dataset => DatasetUse.Required;
        public override bool AppliesModelChatTemplate => true;
        public override bool RequiresMetrics => true;
        public override string MetricNoun => "sample estimator";
        public override bool UsesAnalysis => false;
        public override bool Accepts(IMetricFactory metric) => metric.Kind == MetricKind.SampleEstimator;

        public override RunOutcome Run(RecipeRunRequest request, CancellationToken cancellationToken = default)
        {
            var dir = new UncertaintyRunner(request.Catalog, request.Observer).Run(request.Recipe, request.ResumeDir, cancellationToken);
            var summary = ReadSummary(dir);
            var lines = new List<string>();
            var metrics = summary["evaluation_metrics"]!.AsArray().Select(x => (string)x!).ToList();
            lines.Add($"{summary["name"]}: {summary["n_samples"]} samples, accuracy {Fmt(summary["accuracy"])}, {summary["n_errors"]} sample errors");
            int width = Math.Max(22, summary["methods"]!.AsObject().Select(kv => kv.Key.Length + 1).DefaultIfEmpty(0).Max());
            var cost = summary["cost"]?["methods"];
            lines.Add("method".PadRight(width) + string.Concat(metrics.Select(m => m.PadLeft(10))) + (cost is null ? "" : "      cost"));
            foreach (var (name, node) in summary["methods"]!.AsObject())
                lines.Add(name.PadRight(width) + string.Concat(metrics.Select(m => Fmt(node?[m]?["value"]).PadLeft(10)))
                    + (cost?[name]?["fraction_of_generation"] is JsonValue f && f.TryGetValue<double>(out var fr)
                        ? (fr * 100).ToString("0.0", CultureInfo.InvariantCulture).PadLeft(9) + "%" : ""));
            if (summary["cost"] is { } c)
                lines.Add($"cost: added time as a share of greedy generation ({Fmt(c["generate_seconds"])} s, batches of {c["batch_size"]}; sampled answers {Fmt(c["samples_seconds"])} s)");
            lines.Add($"run folder: {dir}");
            lines.Add($"report:     {Path.Combine(dir, "report.html")}");
            return new RunOutcome(dir, lines, []);
        }

        public override string RenderHtml(string runDir, IReadOnlyCollection<string> figures) =>
            HtmlReport.Render(ReadSummary(runDir), RunFolder.ReadSamples(runDir), runDir, figures);
    }

    /// <summary>Head-attribution and data-scoring runs: each analysis' status and top 5 heads, each scorer's count, mean and
    /// selection; an analysis that failed as a whole, or ran but supports no finding, fails the run (its records are kept).</summary>
    private abstract class AnalysisKind : RecipeKindDescriptor
    {
        public override bool RequiresMetrics => true;

        protected abstract string RunFolderOf(RecipeRunRequest request, CancellationToken cancellationToken);

        public override RunOutcome Run(RecipeRunRequest request, CancellationToken cancellationToken = default)
        {
            var dir = RunFolderOf(request, cancellationToken);
            var summary = ReadSummary(dir);
            var lines = new List<string> { $"{summary["name"]}: {summary["n_samples"]} records, {summary["n_errors"]} with errors" };
            var indent = "".PadRight(22);
            var analyses = summary["analyses"]?.AsObject() ?? [];
            foreach (var (name, node) in analyses)
            {
                var top = node?["top"]?.AsArray().Take(5).Select(t => $"{t!["head"]} {Fmt(t["score"])}") ?? [];
                lines.Add((string?)node?["status"] switch
                {
                    "ok" => $"{name.PadRight(22)} top: {string.Join(", ", top)}",
                    "error" => $"{name.PadRight(22)} error: {node?["error"]}",
                    "inconclusive" => $"{name.PadRight(22)} inconclusive: {node?["warning"]}",
                    var other => $"{name.PadRight(22)} {other}",
                });
                if (node?["conclusion"] is { } conclusion) lines.Add($"{indent} {conclusion}");
            }
            foreach (var (name, node) in summary["scorers"]?.AsObject() ?? [])
            {
                lines.Add($"{name.PadRight(22)} {node?["n"]} scored, mean {Fmt(node?["mean"])}, {node?["selection"]?["n_selected"]} selected → {node?["selection"]?["file"]}");
                if (node?["label"] is JsonObject label)
                    lines.Add($"{indent} {label["field"]}: AUROC {Fmt(label["auroc"])} (mean score {Fmt(label["mean_true"])} for {label["n_true"]} true, {Fmt(label["mean_false"])} for {label["n_false"]} false)");
            }
            lines.Add($"run folder: {dir}");
            lines.Add($"report:     {Path.Combine(dir, "report.html")}");
            var failed = analyses.Where(kv => (string?)kv.Value?["status"] == "error").Select(kv => kv.Key).ToList();
            var inconclusive = analyses.Where(kv => (string?)kv.Value?["status"] == "inconclusive").Select(kv => kv.Key).ToList();
            var problems = new List<string>();
            if (failed.Count > 0)
                problems.Add($"analysis {string.Join(", ", failed.Select(f => $"'{f}'"))} failed; see {Path.Combine(dir, RunFolder.SummaryFile)}");
            if (inconclusive.Count > 0)
                problems.Add($"analysis {string.Join(", ", inconclusive.Select(f => $"'{f}'"))} is inconclusive (no finding); see {Path.Combine(dir, RunFolder.SummaryFile)}");
            return new RunOutcome(dir, lines, problems, problems.Count > 0);
        }

        public override string RenderHtml(string runDir, IReadOnlyCollection<string> figures) =>
            AnalysisReport.Render(ReadSummary(runDir), RunFolder.ReadSamples(runDir), runDir, figures);
    }

    private sealed class HeadAttributionKind : AnalysisKind
    {
        public override string Name => HeadAttribution;
        public override string Description => "model-level head analyses: a score per attention head, checked by ablation";
        public override DatasetUse Dataset => DatasetUse.Optional;
        public override string MetricNoun => "head analysis";
        public override bool Accepts(IMetricFactory metric) => metric.Kind == MetricKind.HeadAnalysis;
        protected override string RunFolderOf(RecipeRunRequest request, CancellationToken cancellationToken) =>
            new HeadAnalysisRunner(request.Catalog, request.Observer).Run(request.Recipe, request.ResumeDir, cancellationToken);
    }

    private sealed class DataScoringKind : AnalysisKind
    {
        public override string Name => DataScoring;
        public override string Description => "a score per document of a corpus, and the selection it implies";
        public override DatasetUse Dataset => DatasetUse.Required;
        public override string MetricNoun => "data scorer";
        public override bool Accepts(IMetricFactory metric) => metric.Kind == MetricKind.DataScorer;
        protected override string RunFolderOf(RecipeRunRequest request, CancellationToken cancellationToken) =>
            new DataScoringRunner(request.Catalog, request.Observer).Run(request.Recipe, request.ResumeDir, cancellationToken);
    }

    private sealed class AgentRobustnessKind : RecipeKindDescriptor
    {
        public override string Name => AgentRobustness;
        public override string Description => "an agent loop under clean and perturbed conditions: accuracy deltas, flips, calibration";
        public override DatasetUse Dataset => DatasetUse.Optional;
        public override string MetricNoun => "agent evaluation";
        public override bool Accepts(IMetricFactory metric) => metric.Kind == MetricKind.AgentEvaluation;

        public override RunOutcome Run(RecipeRunRequest request, CancellationToken cancellationToken = default)
        {
            var dir = new AgentRobustnessRunner(request.Catalog, request.Observer, request.Services).Run(request.Recipe, request.ResumeDir, cancellationToken);
            var summary = ReadSummary(dir);
            var lines = new List<string>
            {
                $"{summary["name"]}: {summary["n_samples"]} episodes, {summary["n_errors"]} with errors",
                $"{"condition",-34} {"N",5} {"acc",6} {"ΔAcc [95% CI]",24} {"McNemar p",10} {"flip",6} {"mislead",8} {"AUROC",6} {"ECE",6}",
            };
            foreach (var (name, n) in summary["analysis"]?["conditions"]?.AsObject() ?? [])
            {
                var d = n?["delta_acc"];
                var ci = d is null ? "" : d["ci_low"] is null ? Fmt(d["value"]) : $"{Fmt(d["value"])} [{Fmt(d["ci_low"])}, {Fmt(d["ci_high"])}]";
                lines.Add($"{name,-34} {n?["n"],5} {Fmt(n?["accuracy"]),6} {ci,24} {Fmt(n?["mcnemar"]?["p_value"]),10} {Fmt(n?["flip_rate"]?["value"]),6} {Fmt(n?["mislead_rate"]),8} {Fmt(n?["auroc"]),6} {Fmt(n?["ece"]),6}");
            }
            lines.Add($"run folder: {dir}");
            lines.Add($"episodes:   {Path.Combine(dir, AgentRobustnessRunner.EpisodesFile)}");
            lines.Add($"report:     {Path.Combine(dir, "report.html")}");
            return new RunOutcome(dir, lines, []);
        }

        public override string RenderHtml(string runDir, IReadOnlyCollection<string> figures) =>
            AgentRobustnessRunner.RenderReport(ReadSummary(runDir), figures.Contains("robustness-accuracy.svg"), figures.Contains("robustness-confidence.svg"));
    }
}
