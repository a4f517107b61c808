// A Semantic Kernel agent on the embedded lab model that answers held-out arithmetic questions and gates the answers it
// is unsure of (DESIGN.md §8). Phase 1 fits an isotonic calibrator on the first questions (or loads one written by
// `attneval calibrate`); phase 2 asks the remaining questions through a kernel prompt function whose chat client is
// AttnEval's local client behind the confidence middleware (fallback below the calibrated threshold).
using System.CommandLine;
using System.Globalization;
using AttnEval.Abstractions;
using AttnEval.Core.Datasets;
using AttnEval.Core.Evaluation;
using AttnEval.Core.Judges;
using AttnEval.Core.Plugins;
using AttnEval.Core.Recipes;
using AttnEval.SemanticKernel;
using AttnEval.SemanticKernel.Calibration;
using ConfidenceGatedAgent;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.SemanticKernel;

var root = Paths.RepositoryRoot();
var model = new Option<string>("--model") { Description = "Model folder or checkpoint", DefaultValueFactory = _ => Path.Combine(root, "samples/models/attneval-lab") };
var backend = new Option<string>("--backend") { Description = "Backend plugin", DefaultValueFactory = _ => "torchsharp" };
var tokenizer = new Option<string?>("--tokenizer") { Description = "Tokenizer file when not beside the model" };
var data = new Option<string?>("--data") { Description = "Questions (JSONL with question/answer); default <model>/eval/arithmetic.jsonl" };
var metric = new Option<string>("--metric") { Description = "Estimator scoring each answer", DefaultValueFactory = _ => "msp" };
var calibrationItems = new Option<int>("--calibration-items") { Description = "Questions used to fit the calibrator (the first ones)", DefaultValueFactory = _ => 180 };
var calibrationFile = new Option<string?>("--calibration") { Description = "Load a calibrator written by 'attneval calibrate' instead of fitting one" };
var limit = new Option<int?>("--limit") { Description = "Held-out questions to ask (default: all the rest)" };
var threshold = new Option<double>("--threshold") { Description = "Gate threshold on calibrated P(correct)", DefaultValueFactory = _ => 0.9 };
var maxNew = new Option<int>("--max-new-tokens") { Description = "Answer length limit", DefaultValueFactory = _ => 160 };
var plugins = new Option<string[]>("--plugins") { Description = "Plugin directory (repeatable); default artifacts/<Configuration>/plugins" };
var quiet = new Option<bool>("--quiet") { Description = "Print only the summary" };
var cmd = new RootCommand("ConfidenceGatedAgent: a Semantic Kernel agent whose low-confidence answers are gated")
    { model, backend, tokenizer, data, metric, calibrationItems, calibrationFile, limit, threshold, maxNew, plugins, quiet };
cmd.SetAction(r => Agent.Run(new AgentSettings(
    r.GetValue(model)!, r.GetValue(backend)!, r.GetValue(tokenizer), r.GetValue(data), r.GetValue(metric)!, r.GetValue(calibrationItems),
    r.GetValue(calibrationFile), r.GetValue(limit), r.GetValue(threshold), r.GetValue(maxNew),
    r.GetValue(plugins) is { Length: > 0 } p ? p : [Paths.Plugins(root)], r.GetValue(quiet))));
var parsed = cmd.Parse(args);
if (parsed.Errors.Count > 0)
{
    foreach (var e in parsed.Errors) Console.Error.WriteLine($"ConfidenceGatedAgent: {e.Message}");
    return 2;
}
return await parsed.InvokeAsync();

namespace ConfidenceGatedAgent
{
    internal sealed record AgentSettings(string Model, string Backend, string? Tokenizer, string? Data, string Metric, int CalibrationItems,
        string? CalibrationFile, int? Limit, double Threshold, int MaxNewTokens, string[] PluginDirs, bool Quiet);

    internal static class Paths
    {
        /// <summary>The folder holding AttnEval.sln, searched upwards from the working directory, then from the program.</summary>
        public static string RepositoryRoot()
        {
            foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
                for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                    if (File.Exists(Path.Combine(d.FullName, "AttnEval.sln"))) return d.FullName;
            return Directory.GetCurrentDirectory();
        }

        public static string Plugins(string root) => Path.Combine(root, "artifacts",
            typeof(Paths).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
                .Cast<System.Reflection.AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "Configuration")?.Value ?? "Release", "plugins");
    }

    internal static class Agent
    {
        private const string Template = "Question: {{$question}}\nAnswer:";

        public static async Task<int> Run(AgentSettings s)
        {
            using var host = new PluginHost().AddBuiltIn("core", sc => { foreach (var j in BuiltInJudges.All) sc.AddSingleton(j); }).LoadFrom(s.PluginDirs);
            foreach (var e in host.Errors) Console.Error.WriteLine($"ConfidenceGatedAgent: plugin {e}");
            if (!host.Catalog.Backends.TryGetValue(s.Backend, out var backend))
                return Fail($"backend '{s.Backend}' is not installed in {string.Join(", ", s.PluginDirs)}; build the plugins first (dotnet build attneval.slnf -c Release)");
            if (!File.Exists(s.Model) && !Directory.Exists(s.Model))
                return Fail($"{s.Model}: no such model; the lab model is samples/models/attneval-lab (trained by samples/LabModel)");
            var dataPath = s.Data ?? Path.Combine(s.Model, "eval", "arithmetic.jsonl");
            IReadOnlyList<Sample> questions;
            try { questions = DatasetReader.Read(new DatasetSpec(Path.GetFullPath(dataPath), Input: "question", Target: "answer", Id: "id")); }
            catch (Exception e) when (e is InvalidDataException or IOException or KeyNotFoundException) { return Fail(e.Message); }
            LocalEstimator estimator;
            try { estimator = LocalEstimator.FromCatalog(host.Catalog, s.Metric); }
            catch (ArgumentException e) { return Fail(e.Message); }
            var judge = new NumericFinalAnswerJudge();

            using var lm = backend.Load(new ModelSource(s.Model, s.Backend) { Tokenizer = s.Tokenizer });
            using var local = new AttnEvalChatClient(lm, new AttnEvalChatClientOptions
            {
                Estimator = estimator, ChatFormat = ChatFormat.None, MaxNewTokens = s.MaxNewTokens,
            });

            // Phase 1: calibration on the first questions (answers straight from the local client, no gate).
            IsotonicCalibrator calibrator;
            IReadOnlyList<Sample> heldOut;
            if (s.CalibrationFile is { } file)
            {
                try { calibrator = IsotonicCalibrator.Load(file); }
                catch (Exception e) when (e is InvalidDataException or FileNotFoundException) { return Fail(e.Message); }
                heldOut = questions;
                Console.WriteLine($"calibrator: {file} ({calibrator.Metric}, fitted on {calibrator.Samples} samples)");
            }
            else
            {
                if (s.CalibrationItems < 2 || s.CalibrationItems >= questions.Count)
                    return Fail($"--calibration-items {s.CalibrationItems}: expected 2 … {questions.Count - 1} (the file has {questions.Count} questions)");
                var u = new List<double>();
                var correct = new List<bool>();
                var cal = questions.Take(s.CalibrationItems).ToList();
                Console.WriteLine($"phase 1: answering {cal.Count} calibration questions with {Path.GetFileName(s.Model.TrimEnd('/'))} ({s.Metric})…");
                foreach (var q in cal)
                {
                    var r = await local.GetResponseAsync([new ChatMessage(ChatRole.User, Prompt(q))]);
                    if (AttnEvalMetadata.Read(r, AttnEvalMetadata.Score) is not ConfidenceScore score) continue;
                    u.Add(score.Uncertainty);
                    correct.Add(judge.Judge(r.Text, q).Correct);
                }
                calibrator = IsotonicCalibrator.Fit(s.Metric, CalibrationInput.Uncertainty, u, correct);
                heldOut = questions.Skip(s.CalibrationItems).ToList();
                Console.WriteLine(Inv($"calibrator: {s.Metric} fitted on {u.Count} answers (accuracy {correct.Average(c => c ? 1.0 : 0):0.000}); P(correct) ≥ {s.Threshold} ⇔ U ≤ {calibrator.InputThreshold(s.Threshold)?.ToString("0.###", CultureInfo.InvariantCulture) ?? "none"}"));
            }
            if (s.Limit is { } n) heldOut = heldOut.Take(n).ToList();

            // Phase 2: the agent — a kernel whose chat client is the local model behind the confidence gate.
            var builder = Kernel.CreateBuilder();
            builder.Services.AddAttnEvalConfidence(o =>
            {
                o.Policy = GatePolicy.Fallback;
                o.FallbackText = "I am not sure enough to answer.";
                o.Calibrator = calibrator;
                o.Threshold = s.Threshold;
            }, addFunctionFilter: false);
            builder.Services.AddChatClient(local).UseAttnEvalConfidence();
            var kernel = builder.Build();
            var ask = KernelFunctionFactory.CreateFromPrompt(Template, functionName: "Answer");

            Console.WriteLine(Inv($"phase 2: the agent answers {heldOut.Count} held-out questions; gate: fallback below calibrated P(correct) {s.Threshold}"));
            var rows = new List<(bool Correct, bool Answered, double? Raw, double? Calibrated)>();
            foreach (var q in heldOut)
            {
                var result = await kernel.InvokeAsync(ask, new() { ["question"] = q.Input });
                var md = result.Metadata ?? new Dictionary<string, object?>();
                var gate = md.GetValueOrDefault(AttnEvalMetadata.Gate) as string ?? "?";
                var answer = md.GetValueOrDefault(AttnEvalMetadata.OriginalAnswer) as string ?? result.ToString();
                var verdict = judge.Judge(answer, q);
                var conf = md.GetValueOrDefault(AttnEvalMetadata.Confidence) as double?;
                rows.Add((verdict.Correct, gate is "passed" or "error", md.GetValueOrDefault(AttnEvalMetadata.RawConfidence) as double?, conf));
                if (!s.Quiet)
                    Console.WriteLine(Inv($"{q.Id,-10} answer {verdict.Extracted ?? "-",8} (expected {verdict.Expected,6}) {(verdict.Correct ? "right" : "wrong"),-5}  P(correct) {conf?.ToString("0.000", CultureInfo.InvariantCulture) ?? "n/a",5}  gate {gate}{(gate == "fallback" ? $" → \"{result}\"" : "")}"));
            }

            var all = rows.Count;
            var answered = rows.Where(r => r.Answered).ToList();
            var labels = rows.Select(r => r.Correct ? 1.0 : 0.0).ToList();
            Console.WriteLine();
            Console.WriteLine(Inv($"held-out questions:            {all}"));
            Console.WriteLine(Inv($"accuracy without the gate:     {labels.Average():0.000}"));
            Console.WriteLine(Inv($"share answered with the gate:  {(double)answered.Count / all:0.000} ({answered.Count} of {all})"));
            Console.WriteLine(Inv($"accuracy of answered:          {(answered.Count == 0 ? "n/a" : answered.Average(r => r.Correct ? 1.0 : 0).ToString("0.000", CultureInfo.InvariantCulture))}"));
            if (rows.All(r => r.Calibrated is not null))
                Console.WriteLine(Inv($"ECE (20 bins) calibrated:      {UncertaintyMetrics.Ece(rows.Select(r => r.Calibrated!.Value).ToList(), labels):0.0000}"));
            if (rows.All(r => r.Raw is not null))
                Console.WriteLine(Inv($"ECE (20 bins) raw {s.Metric,-12} {UncertaintyMetrics.Ece(rows.Select(r => r.Raw!.Value).ToList(), labels):0.0000}"));
            return 0;
        }

        private static string Prompt(Sample q) => $"Question: {q.Input}\nAnswer:";

        private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

        private static int Fail(string message)
        {
            Console.Error.WriteLine($"ConfidenceGatedAgent: {message}");
            return 2;
        }
    }
}
