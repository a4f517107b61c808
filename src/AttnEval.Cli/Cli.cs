using System.CommandLine;
using AttnEval.Core.Plugins;

namespace AttnEval.Cli;

/// <summary>Builds the <c>attneval</c> command tree. Exit codes: 0 done, 1 run failed, 2 bad usage or bad input.</summary>
internal static class Cli
{
    public const int Ok = 0, Failed = 1, BadInput = 2;

    public static RootCommand Build()
    {
        var plugins = new Option<string[]>("--plugins")
        {
            Description = "Plugin directory (repeatable); default: ATTNEVAL_PLUGINS, else the plugins folder beside attneval",
            Recursive = true,
            AllowMultipleArgumentsPerToken = false,
        };
        var addPlugins = new Option<string[]>("--add-plugins")
        {
            Description = "Plugin directory loaded as well as the --plugins or default ones (repeatable), e.g. bin/plugins of a plugin you built",
            Recursive = true,
            AllowMultipleArgumentsPerToken = false,
        };
        string[] PluginDirs(ParseResult r) =>
            [.. r.GetValue(plugins) is { Length: > 0 } dirs ? dirs : PluginHost.DefaultDirectories(), .. r.GetValue(addPlugins) ?? []];
        var set = new Option<string[]>("--set") { Description = "Override a recipe key: --set dataset.limit=5 (repeatable)", AllowMultipleArgumentsPerToken = false };
        var limit = new Option<int?>("--limit") { Description = "Shorthand for --set dataset.limit=N" };
        limit.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int?>() is { } n && n < 1) r.AddError($"--limit {n}: expected a number of samples, 1 or more");
        });
        var resume = new Option<string?>("--resume") { Description = "Continue the run in this run folder (skips finished samples; refuses a changed recipe)" };
        var recipe = new Argument<string>("recipe") { Description = "Recipe YAML file" };

        var runJson = new Option<bool>("--json") { Description = "End with one JSON object (run folder, report, the summary's main numbers) on standard output instead of the tables; progress stays on standard error" };
        var run = new Command("run", "Run a recipe and write a run folder (samples.jsonl, summary.json, report.html)") { recipe, set, limit, resume, runJson };
        run.SetAction(r => Commands.Run(r.GetValue(recipe)!, r.GetValue(set) ?? [], r.GetValue(limit), r.GetValue(resume), PluginDirs(r), r.GetValue(runJson)));

        var recipes = new Argument<string[]>("recipes") { Description = "Recipe files to check", Arity = ArgumentArity.OneOrMore };
        var validateSet = new Option<string[]>("--set") { Description = "Override a recipe key before validation (repeatable)", AllowMultipleArgumentsPerToken = false };
        var validateJson = new Option<bool>("--json") { Description = "One JSON array (per recipe: ok and its errors with file, line, column, message) instead of lines" };
        var validate = new Command("validate", "Check recipes (keys, types, ranges, files, plugin names) without loading a model or writing anything") { recipes, validateSet, validateJson };
        validate.SetAction(r => Commands.Validate(r.GetValue(recipes)!, r.GetValue(validateSet) ?? [], PluginDirs(r), r.GetValue(validateJson)));

        var listJson = new Option<bool>("--json") { Description = "One JSON array instead of a table" };
        var list = new Command("list", "List every installed part: name, kind, plugin, version, folder, what it adds to generation, description") { listJson };
        list.SetAction(r => Commands.List(PluginDirs(r), r.GetValue(listJson)));

        var partName = new Argument<string?>("name") { Description = "A part's name, as in recipes (e.g. uqac, torchsharp, numeric-final-answer)", Arity = ArgumentArity.ZeroOrOne };
        var describeJson = new Option<bool>("--json") { Description = "One JSON object instead of text" };
        var describeRuns = new Option<string>("--runs") { Description = "Folder of run folders whose newest summary.json gives the measured cost", DefaultValueFactory = _ => "runs" };
        var describeAll = new Option<bool>("--all") { Description = "Every installed part instead of one name (with --json: one JSON array)" };
        var describeMarkdown = new Option<bool>("--markdown") { Description = "With --all: the recipe options reference as Markdown (docs/options-reference.md is this output for the built-in plugins)" };
        var describe = new Command("describe", "Show one installed part: its description, what it adds to generation (and its cost measured in the newest run under runs/), and every option (type, default, range, meaning); --all --markdown prints the options reference of every installed part") { partName, describeJson, describeRuns, describeAll, describeMarkdown };
        describe.SetAction(r => r.GetValue(describeAll)
            ? r.GetValue(partName) is { } extra
                ? Commands.UsageError($"describe --all takes no part name (got '{extra}')")
                : r.GetValue(describeMarkdown) ? Commands.DescribeAllMarkdown(PluginDirs(r)) : Commands.Describe(null, PluginDirs(r), r.GetValue(describeJson), r.GetValue(describeRuns))
            : r.GetValue(partName) is { } name
                ? r.GetValue(describeMarkdown) ? Commands.UsageError("describe --markdown needs --all") : Commands.Describe(name, PluginDirs(r), r.GetValue(describeJson), r.GetValue(describeRuns))
                : Commands.UsageError("describe needs a part's name, or --all --markdown"));

        var runDir = new Argument<string>("run-dir") { Description = "A run folder" };
        var report = new Command("report", "Re-render report.html from a run folder's summary.json and samples.jsonl") { runDir };
        report.SetAction(r => Commands.Report(r.GetValue(runDir)!, PluginDirs(r)));

        var model = new Option<string>("--model") { Description = "Model folder or checkpoint", Required = true };
        var backend = new Option<string>("--backend") { Description = "Backend name", DefaultValueFactory = _ => "torchsharp" };
        var device = new Option<string>("--device") { Description = "cpu or cuda[:N]", DefaultValueFactory = _ => "cpu" };
        var dtype = new Option<string>("--dtype") { Description = "float32, float16 or bfloat16", DefaultValueFactory = _ => "float32" };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Tokenizer file when it is not beside the model" };
        var prompt = new Option<int>("--prompt-tokens") { Description = "Prompt length in tokens (a repeated sentence is encoded and cut)", DefaultValueFactory = _ => 64 };
        var newTokens = new Option<int>("--new-tokens") { Description = "Tokens to generate", DefaultValueFactory = _ => 64 };
        var scoreTokens = new Option<int>("--score-tokens") { Description = "Sequence length for teacher-forced scoring", DefaultValueFactory = _ => 256 };
        var repeats = new Option<int>("--repeats") { Description = "Timed repetitions (median reported)", DefaultValueFactory = _ => 3 };
        var threads = new Option<int?>("--threads") { Description = "Backend threads (model.options.threads); default: the backend's (one per physical core)" };
        var bench = new Command("bench", "Measure generation and scoring speed and peak memory; prints one JSON line")
            { model, backend, device, dtype, tokenizer, prompt, newTokens, scoreTokens, repeats, threads };
        bench.SetAction(r => Commands.Bench(new BenchOptions(r.GetValue(model)!, r.GetValue(backend)!, r.GetValue(device)!, r.GetValue(dtype)!,
            r.GetValue(tokenizer), r.GetValue(prompt), r.GetValue(newTokens), r.GetValue(scoreTokens), r.GetValue(repeats), r.GetValue(threads)), PluginDirs(r)));

        var root = new RootCommand("attneval — read a language model's attention to judge its answers and its parts")
        {
            run, validate, list, describe, report, CompareCommand.Build(), bench, CalibrateCommand.Build(), ExportOnnxCommand.Build(), TokenizeCommand.Build(),
        };
        root.Options.Add(plugins);
        root.Options.Add(addPlugins);
        root.SetAction(_ => Help(root));
        return root;
    }

    /// <summary>Parses and runs; parse errors are bad usage (one line each on stderr, exit code 2).</summary>
    public static int Execute(string[] args)
    {
        var result = Build().Parse(args);
        if (result.Errors.Count > 0)
        {
            foreach (var e in result.Errors) Console.Error.WriteLine($"attneval: {e.Message}");
            Console.Error.WriteLine("attneval: see 'attneval --help'");
            return BadInput;
        }
        return result.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
    }

    private static int Help(Command command)
    {
        Console.Error.WriteLine($"attneval: '{command.Name}' needs a subcommand: {string.Join(", ", command.Subcommands.Select(s => s.Name))}");
        return BadInput;
    }
}
