using System.Collections;
using System.Globalization;
using System.Text.RegularExpressions;
using AttnEval.Abstractions;
using AttnEval.Core.Kinds;
using AttnEval.Core.Datasets;
using AttnEval.Core.Plugins;

using AttnEval.Core.Prompts.ChatTemplates;

namespace AttnEval.Core.Recipes;

/// <summary>
/// Validates a merged, overridden recipe tree and builds the <see cref="Recipe"/>. Collects every error it can
/// (one per defect, no cascades) and throws them together.
/// </summary>
internal sealed class RecipeBuilder
{
    private static readonly Regex NamePattern = new(@"^[A-Za-z0-9._-]+$", RegexOptions.CultureInvariant);
    private static readonly Regex DevicePattern = new(@"^(cpu|cuda(:[0-9]+)?)$", RegexOptions.CultureInvariant);

    private static readonly IReadOnlyList<string> TopKeys = ["name", "kind", "description", "model", "dataset", "prompt", "generation", "judge", "metrics", "evaluation", "analysis", "output"];
    private static readonly IReadOnlyList<string> ModelKeys = ["path", "backend", "device", "dtype", "tokenizer", "options"];
    private static readonly IReadOnlyList<string> DatasetKeys = ["path", "format", "input", "target", "id", "limit", "seed", "shuffle"];
    private static readonly IReadOnlyList<string> PromptKeys = ["template", "chat", "system"];
    private static readonly IReadOnlyList<string> GenerationKeys = ["max_new_tokens", "temperature", "top_p", "top_k", "seed", "samples", "sample_temperature", "stop", "batch_size"];
    private static readonly IReadOnlyList<string> EvaluationKeys = ["metrics", "bootstrap", "confidence_level", "ece_bins", "seed", "ties", "interval"];
    private static readonly IReadOnlyList<string> OutputKeys = ["dir"];
    private static readonly IReadOnlyList<string> DTypes = ["float32", "float16", "bfloat16"];
    private static readonly IReadOnlyList<string> DatasetFormats = ["jsonl", "json", "csv"];

    private readonly IComponentCatalog _catalog;
    private readonly string _workingDirectory;
    private readonly string _sourceFile;
    private readonly IReadOnlyList<string> _overrides;
    private readonly List<RecipeError> _errors = [];
    /// <summary>Error-message key prefixes whose <c>--set</c> spelling differs (<c>metrics.uqac</c> → <c>metrics.3</c>).</summary>
    private readonly Dictionary<string, string> _setKeys = new(StringComparer.Ordinal);

    public RecipeBuilder(IComponentCatalog catalog, string workingDirectory, string sourceFile, IReadOnlyList<string> overrides)
    {
        _catalog = catalog;
        _workingDirectory = workingDirectory;
        _sourceFile = sourceFile;
        _overrides = overrides;
    }

    public Recipe Build(YMap root)
    {
        var top = Keys(root, "at the top level", TopKeys);

        // name
        var nameEntry = top.GetValueOrDefault("name");
        var name = ReadString(nameEntry, "name");
        if (IsMissing(nameEntry)) Error(root.Pos, "name is required (letters, digits, '.', '_' and '-')");
        else if (name is not null && !NamePattern.IsMatch(name))
            Error(nameEntry!.Value.Pos, $"name: '{name}' may only contain letters, digits, '.', '_' and '-'");

        // kind
        var kindEntry = top.GetValueOrDefault("kind");
        var kindText = ReadChoice(kindEntry, "kind", _catalog.Kinds.Values.Select(k => k.Name).ToList());
        // null when the recipe names a kind the catalog lacks (an error already); the section checks below then stay silent.
        var kind = kindText is not null ? _catalog.Kinds[kindText] : IsMissing(kindEntry) ? _catalog.Kinds[BuiltInKinds.Default] : null;
        var kindPos = IsMissing(kindEntry) ? root.Pos : kindEntry!.Value.Pos;

        var description = ReadString(top.GetValueOrDefault("description"), "description");

        // model
        ModelSource? model = null;
        var modelEntry = top.GetValueOrDefault("model");
        if (IsMissing(modelEntry)) Error(root.Pos, "model is required (at least model.path)");
        else if (ReadMap(modelEntry, "model") is { } modelMap) model = ReadModel(modelMap);

        // dataset
        DatasetSpec? dataset = null;
        var datasetEntry = top.GetValueOrDefault("dataset");
        if (IsMissing(datasetEntry))
        {
            if (kind?.Dataset == DatasetUse.Required)
                Error(kindPos, $"dataset is required for kind '{kind.Name}'");
        }
        else if (kind?.Dataset == DatasetUse.None)
            Error(datasetEntry!.Key.Pos, $"dataset: kind '{kind.Name}' takes no dataset (remove the section)");
        else if (ReadMap(datasetEntry, "dataset") is { } datasetMap) dataset = ReadDataset(datasetMap);

        Unused(top, "judge", kind, k => k.UsesJudge, "uses no judge");
        Unused(top, "metrics", kind, k => k.UsesMetrics, "takes no metrics");
        var prompt = ReadPrompt(ReadMap(top.GetValueOrDefault("prompt"), "prompt"), dataset, model, kind);
        // A prompt section is refused only when it asks for something (a resolved recipe writes the default one).
        if (kind is { UsesPrompt: false } && prompt is not null && prompt != ReadPrompt(null, dataset, model, kind))
            Unused(top, "prompt", kind, k => k.UsesPrompt, "takes no prompt (it builds its own)");
        var generationMap = ReadMap(top.GetValueOrDefault("generation"), "generation");
        var generation = ReadGeneration(generationMap);
        if (kind?.GenerationKeys is { } honoured && generationMap is not null)
        {
            // A key the kind ignores is refused when it asks for something other than the default (a resolved recipe, which
            // writes every default, still loads).
            var defaults = ReadGeneration(null);
            foreach (var entry in generationMap.Entries.Where(e => GenerationKeys.Contains(e.Key.Value) && !honoured.Contains(e.Key.Value)))
                if (!Equals(GenerationValue(generation, entry.Key.Value), GenerationValue(defaults, entry.Key.Value)))
                    Error(entry.Key.Pos, $"generation.{entry.Key.Value}: kind '{kind.Name}' does not use it (it uses {string.Join(", ", GenerationKeys.Where(honoured.Contains))}); remove the key");
        }
        var judge = ReadJudge(top.GetValueOrDefault("judge"));
        var metrics = ReadMetrics(top.GetValueOrDefault("metrics"), kind, kindPos);
        var evaluation = ReadEvaluation(ReadMap(top.GetValueOrDefault("evaluation"), "evaluation"));
        var analysis = ReadAnalysis(top.GetValueOrDefault("analysis"), kind, kindPos);
        var outputDir = ReadOutput(ReadMap(top.GetValueOrDefault("output"), "output"), root.Pos);

        if (_errors.Count > 0) throw new RecipeException(_errors);

        return new Recipe
        {
            Name = name!,
            Kind = kind!.Name,
            Description = description,
            Model = model!,
            Dataset = dataset,
            Prompt = prompt!,
            Generation = generation!,
            Judge = judge,
            Metrics = metrics,
            Evaluation = evaluation!,
            Analysis = analysis,
            OutputDir = outputDir!,
            SourceFile = _sourceFile,
        };
    }

    // ---------------------------------------------------------------- sections

    private ModelSource? ReadModel(YMap map)
    {
        var keys = Keys(map, "in model", ModelKeys);
        string? path = null;
        if (IsMissing(keys.GetValueOrDefault("path"))) Error(map.Pos, "model.path is required");
        else if (ScalarOf(keys["path"], "model.path") is { } p) path = ResolvePath(p, "model.path", "model", mustExist: true, files: true, folders: true);

        var backendEntry = keys.GetValueOrDefault("backend");
        var backend = ReadString(backendEntry, "model.backend") ?? "torchsharp";
        if (!_catalog.Backends.ContainsKey(backend))
        {
            var known = _catalog.Backends.Keys.Order(StringComparer.Ordinal).ToList();
            if (IsMissing(backendEntry))
                Error(map.Pos, $"model.backend: the default backend 'torchsharp' is not installed" +
                               (known.Count > 0 ? $" (known: {string.Join(", ", known)})" : " (no backend is installed)"));
            else if (backendEntry!.Value is YScalar)
                Error(backendEntry.Value.Pos, $"model.backend: unknown backend '{backend}'{Suggest.Hint(backend, known)}");
        }

        var deviceEntry = keys.GetValueOrDefault("device");
        var device = ReadString(deviceEntry, "model.device") ?? "cpu";
        if (!DevicePattern.IsMatch(device))
            Error(deviceEntry!.Value.Pos, $"model.device: '{device}' is not a device; expected cpu, cuda or cuda:N");

        var dtype = ReadChoice(keys.GetValueOrDefault("dtype"), "model.dtype", DTypes) ?? "float32";

        string? tokenizer = null;
        if (!IsMissing(keys.GetValueOrDefault("tokenizer")) && ScalarOf(keys["tokenizer"], "model.tokenizer") is { } t)
            tokenizer = ResolvePath(t, "model.tokenizer", "tokenizer", mustExist: true, files: true, folders: true);

        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        if (ReadMap(keys.GetValueOrDefault("options"), "model.options") is { } optionMap)
        {
            var specs = _catalog.Backends.TryGetValue(backend, out var b) ? b.Options : null;
            foreach (var entry in optionMap.Entries)
            {
                if (specs is not null && specs.All(o => o.Key != entry.Key.Value))
                {
                    Error(entry.Key.Pos, $"unknown key '{entry.Key.Value}' in model.options of backend '{backend}'" +
                        (specs.Count == 0 ? " (it takes no options)" : $"{Suggest.Hint(entry.Key.Value, specs.Select(o => o.Key).ToList())} (known: {string.Join(", ", specs.Select(o => o.Key))})"));
                    continue;
                }
                if (entry.Value is YScalar { IsNull: true }) continue;
                if (entry.Value is YScalar s)
                {
                    if (specs?.First(o => o.Key == entry.Key.Value) is { } spec) ConvertOption(entry.Value, spec, $"model.options.{entry.Key.Value}");
                    options[entry.Key.Value] = s.Value;
                }
                else Error(entry.Value.Pos, $"model.options.{entry.Key.Value}: expected a number, string or boolean, got {entry.Value.Describe()}");
            }
        }

        return path is null ? null : new ModelSource(path, backend, device, dtype) { Tokenizer = tokenizer, Options = options };
    }

    private DatasetSpec? ReadDataset(YMap map)
    {
        var keys = Keys(map, "in dataset", DatasetKeys);
        YScalar? pathNode = null;
        string? path = null;
        if (IsMissing(keys.GetValueOrDefault("path"))) Error(map.Pos, "dataset.path is required");
        else if (ScalarOf(keys["path"], "dataset.path") is { } p)
        {
            pathNode = p;
            path = ResolvePath(p, "dataset.path", "dataset file", mustExist: true, files: true, folders: false);
        }

        var formatEntry = keys.GetValueOrDefault("format");
        var format = ReadChoice(formatEntry, "dataset.format", DatasetFormats);
        if (format is null && IsMissing(formatEntry) && path is not null)
        {
            format = Path.GetExtension(path).ToLowerInvariant() switch
            {
                ".jsonl" => "jsonl",
                ".json" => "json",
                ".csv" => "csv",
                _ => null,
            };
            if (format is null)
                Error(pathNode!.Pos, $"dataset.path: cannot tell the format of '{pathNode.Value}' from its extension; set dataset.format (jsonl, json or csv)");
        }

        var input = ReadField(keys.GetValueOrDefault("input"), "dataset.input") ?? "question";
        var targetEntry = keys.GetValueOrDefault("target");
        var target = targetEntry is null ? "answer" : ReadField(targetEntry, "dataset.target");
        var id = ReadField(keys.GetValueOrDefault("id"), "dataset.id");
        var limit = ReadInteger(keys.GetValueOrDefault("limit"), "dataset.limit", 1, int.MaxValue);
        var seed = ReadInteger(keys.GetValueOrDefault("seed"), "dataset.seed", long.MinValue, long.MaxValue) ?? 0;
        var shuffle = ReadBoolean(keys.GetValueOrDefault("shuffle"), "dataset.shuffle") ?? false;

        return path is null ? null : new DatasetSpec(path, format, input, target, id, limit is null ? null : (int)limit.Value, seed, shuffle);
    }

    private string? ReadField(YEntry? entry, string path)
    {
        var value = ReadString(entry, path);
        if (value is not null && value.Trim().Length == 0)
        {
            Error(entry!.Value.Pos, $"{path}: expected a field name, got ''");
            return null;
        }
        return value;
    }

    /// <summary>A section the kind does not use, when the recipe gives one (not null, not an empty list or map): one error on its key.</summary>
    private void Unused(IReadOnlyDictionary<string, YEntry> top, string section, RecipeKindDescriptor? kind, Func<RecipeKindDescriptor, bool> uses, string why)
    {
        if (kind is null || uses(kind) || IsMissing(top.GetValueOrDefault(section))) return;
        if (top[section].Value is YSeq { Items.Count: 0 } or YMap { Entries.Count: 0 }) return;
        Error(top[section].Key.Pos, $"{section}: kind '{kind.Name}' {why}; remove the section");
    }

    private PromptSpec? ReadPrompt(YMap? map, DatasetSpec? dataset, ModelSource? model, RecipeKindDescriptor? kind)
    {
        var keys = Keys(map, "in prompt", PromptKeys);
        var templateEntry = keys.GetValueOrDefault("template");
        var template = ReadString(templateEntry, "prompt.template");
        if (template is not null)
        {
            PromptTemplate.Parse(template, out var error);
            if (error is not null) Error(templateEntry!.Value.Pos, $"prompt.template: {error}");
        }
        template ??= "{{" + (dataset?.Input ?? "question") + "}}";
        var chat = ReadChoice(keys.GetValueOrDefault("chat"), "prompt.chat", RecipeNames.ChatFormats) ?? "none";
        var system = ReadString(keys.GetValueOrDefault("system"), "prompt.system");
        var format = Enum.GetValues<ChatFormat>().First(c => c.ToRecipeName() == chat);
        ChatTemplate? modelTemplate = null;
        if (format == ChatFormat.Auto && keys.GetValueOrDefault("chat") is { } chatEntry)
        {
            if (kind is not null && !kind.AppliesModelChatTemplate)
                Error(chatEntry.Value.Pos, $"prompt.chat: auto is applied by {string.Join(" and ", _catalog.Kinds.Values.Where(k => k.AppliesModelChatTemplate).Select(k => k.Name))} recipes; kind '{kind.Name}' builds its prompts in its plugin (use none, llama3 or chatml)");
            else if (model is { Path: var modelPath })
            {
                var folder = Directory.Exists(modelPath) ? modelPath : Path.GetDirectoryName(modelPath) ?? modelPath;
                try
                {
                    modelTemplate = ChatTemplate.FromModelFolder(folder);
                    if (modelTemplate is null)
                        Error(chatEntry.Value.Pos, $"prompt.chat: auto, but {folder} has no chat template (neither chat_template.jinja nor chat_template in tokenizer_config.json); expected an instruct model's folder, or chat: none");
                }
                catch (Exception e) when (e is ChatTemplateException or IOException or System.Text.Json.JsonException)
                {
                    Error(chatEntry.Value.Pos, $"prompt.chat: auto: {e.Message}");
                }
            }
        }
        return new PromptSpec(template, format, system) { ModelTemplate = modelTemplate };
    }

    /// <summary>The value of one <c>generation:</c> key in a spec, for comparing with its default.</summary>
    private static object? GenerationValue(GenerationSpec g, string key) => key switch
    {
        "max_new_tokens" => g.MaxNewTokens,
        "temperature" => g.Temperature,
        "top_p" => g.TopP,
        "top_k" => g.TopK,
        "seed" => g.Seed,
        "samples" => g.Samples,
        "sample_temperature" => g.SampleTemperature,
        "stop" => string.Join("\u0000", g.Stop),
        "batch_size" => g.BatchSize,
        _ => null,
    };

    private GenerationSpec ReadGeneration(YMap? map)
    {
        var keys = Keys(map, "in generation", GenerationKeys);
        var maxNewTokens = ReadInteger(keys.GetValueOrDefault("max_new_tokens"), "generation.max_new_tokens", 1, 1_000_000) ?? 256;
        var temperature = ReadNumber(keys.GetValueOrDefault("temperature"), "generation.temperature", 0, false, null, false) ?? 0.0;
        var topP = ReadNumber(keys.GetValueOrDefault("top_p"), "generation.top_p", 0, true, 1, false) ?? 1.0;
        var topK = ReadInteger(keys.GetValueOrDefault("top_k"), "generation.top_k", 0, int.MaxValue) ?? 0;
        var seed = ReadInteger(keys.GetValueOrDefault("seed"), "generation.seed", long.MinValue, long.MaxValue) ?? 0;
        var samples = ReadInteger(keys.GetValueOrDefault("samples"), "generation.samples", 0, int.MaxValue) ?? 0;
        var sampleTemperature = ReadNumber(keys.GetValueOrDefault("sample_temperature"), "generation.sample_temperature", 0, true, null, false) ?? 1.0;
        var stop = new List<string>();
        foreach (var s in ReadScalarList(keys.GetValueOrDefault("stop"), "generation.stop"))
        {
            if (s.Value.Length == 0) Error(s.Pos, "generation.stop: an empty stop string would end every answer at once");
            else stop.Add(s.Value);
        }
        var batchSize = ReadInteger(keys.GetValueOrDefault("batch_size"), "generation.batch_size", 1, 4096) ?? 8;
        return new GenerationSpec((int)maxNewTokens, temperature, topP, (int)topK, seed, (int)samples, sampleTemperature, stop, (int)batchSize);
    }

    private JudgeSpec? ReadJudge(YEntry? entry)
    {
        if (IsMissing(entry)) return null;
        YScalar? kindNode;
        YMap? map = null;
        switch (entry!.Value)
        {
            case YScalar s:
                kindNode = s;
                break;
            case YMap m:
                map = m;
                var kindEntry = m.Find("kind");
                if (IsMissing(kindEntry))
                {
                    Error(m.Pos, "judge.kind is required" + KnownList(_catalog.Judges.Keys));
                    return null;
                }
                kindNode = ScalarOf(kindEntry!, "judge.kind");
                if (kindNode is null) return null;
                break;
            default:
                Error(entry.Value.Pos, $"judge: expected a judge name or a map with 'kind', got {entry.Value.Describe()}");
                return null;
        }
        if (!_catalog.Judges.TryGetValue(kindNode.Value, out var factory))
        {
            Error(kindNode.Pos, $"judge.kind: unknown judge '{kindNode.Value}'{Suggest.Hint(kindNode.Value, _catalog.Judges.Keys.Order(StringComparer.Ordinal).ToList())}");
            return null;
        }
        var options = ReadOptions(map, factory.Options, "judge", "kind", map?.Pos ?? kindNode.Pos);
        return new JudgeSpec(kindNode.Value, new OptionValues(options));
    }

    private IReadOnlyList<MetricSpec> ReadMetrics(YEntry? entry, RecipeKindDescriptor? kind, SourcePos kindPos)
    {
        var result = new List<MetricSpec>();
        IReadOnlyList<YNode> items;
        if (IsMissing(entry)) items = [];
        else
        {
            switch (entry!.Value)
            {
                case YSeq seq: items = seq.Items; break;
                case YScalar s: items = [s]; break;
                default:
                    Error(entry.Value.Pos, $"metrics: expected a list of metric names or {{ name: ..., <options> }} maps, got {entry.Value.Describe()}");
                    return result;
            }
        }

        var known = _catalog.Metrics.Keys.Order(StringComparer.Ordinal).ToList();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var problems = false;
        for (var i = 0; i < items.Count; i++)
        {
            YScalar nameNode;
            YMap? options = null;
            switch (items[i])
            {
                case YScalar { IsNull: false } s:
                    nameNode = s;
                    break;
                case YMap m when m.Find("name") is { Value: YScalar { IsNull: false } n }:
                    nameNode = n;
                    options = m;
                    break;
                default:
                    Error(items[i].Pos, $"metrics[{i}]: expected a metric name or a map with 'name', got {items[i].Describe()}");
                    problems = true;
                    continue;
            }
            var name = nameNode.Value;
            if (!_catalog.Metrics.TryGetValue(name, out var factory))
            {
                Error(nameNode.Pos, $"unknown metric '{name}'{Suggest.Hint(name, known)}");
                problems = true;
                continue;
            }
            if (!seen.Add(name))
            {
                Error(nameNode.Pos, $"metric '{name}' is listed twice");
                problems = true;
                continue;
            }
            if (kind is { UsesMetrics: true } k && !k.Accepts(factory))
            {
                Error(nameNode.Pos, $"metric '{name}' is a {Describe(factory)}; kind '{k.Name}' takes {k.MetricNoun}s");
                problems = true;
                continue;
            }
            int before = _errors.Count;
            _setKeys[$"metrics.{name}"] = $"metrics.{i}";
            var values = ReadOptions(options, factory.Options, $"metrics.{name}", "name", options?.Pos ?? nameNode.Pos);
            var spec = new MetricSpec(name, new OptionValues(values));
            if (_errors.Count == before) CheckCreate(factory, spec, options?.Pos ?? nameNode.Pos);
            result.Add(spec);
        }

        if (result.Count == 0 && !problems && kind is { RequiresMetrics: true })
            Error(IsMissing(entry) ? kindPos : entry!.Value.Pos, $"metrics: kind '{kind.Name}' needs at least one metric" + KnownList(known));
        return result;
    }

    /// <summary>What a metric is, in the words of the built-in kind that takes it (<c>head analysis</c>).</summary>
    private string Describe(IMetricFactory metric) =>
        _catalog.Kinds.Values.FirstOrDefault(k => k.Owner == "core" && k.Accepts(metric))?.MetricNoun ?? "metric of another kind";

    private EvaluationSpec ReadEvaluation(YMap? map)
    {
        var keys = Keys(map, "in evaluation", EvaluationKeys);
        var metricsEntry = keys.GetValueOrDefault("metrics");
        List<string> metrics;
        if (IsMissing(metricsEntry)) metrics = [.. RecipeNames.EvaluationMetrics];
        else
        {
            metrics = [];
            foreach (var s in ReadScalarList(metricsEntry, "evaluation.metrics"))
            {
                if (!RecipeNames.EvaluationMetrics.Contains(s.Value))
                    Error(s.Pos, $"evaluation.metrics: unknown evaluation metric '{s.Value}'{Suggest.Hint(s.Value, RecipeNames.EvaluationMetrics)}");
                else if (metrics.Contains(s.Value)) Error(s.Pos, $"evaluation.metrics: '{s.Value}' is listed twice");
                else metrics.Add(s.Value);
            }
        }
        var bootstrap = ReadInteger(keys.GetValueOrDefault("bootstrap"), "evaluation.bootstrap", 0, int.MaxValue) ?? 1000;
        var level = ReadNumber(keys.GetValueOrDefault("confidence_level"), "evaluation.confidence_level", 0, true, 1, true) ?? 0.95;
        var bins = ReadInteger(keys.GetValueOrDefault("ece_bins"), "evaluation.ece_bins", 1, int.MaxValue) ?? 20;
        var seed = ReadInteger(keys.GetValueOrDefault("seed"), "evaluation.seed", long.MinValue, long.MaxValue) ?? 0;
        var ties = RecipeNames.ParseTieBreaking(ReadChoice(keys.GetValueOrDefault("ties"), "evaluation.ties", RecipeNames.TieBreakings)) ?? Evaluation.TieBreaking.Expected;
        var interval = RecipeNames.ParseInterval(ReadChoice(keys.GetValueOrDefault("interval"), "evaluation.interval", RecipeNames.IntervalMethods)) ?? Evaluation.IntervalMethod.Centered;
        return new EvaluationSpec(metrics, (int)bootstrap, level, (int)bins, seed, ties, interval);
    }

    private IReadOnlyDictionary<string, object?> ReadAnalysis(YEntry? entry, RecipeKindDescriptor? kind, SourcePos kindPos)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        var section = ReadMap(entry, "analysis");
        if (kind?.AnalysisOptions is { } specs)
            // A kind with declared options: validated and defaulted like a metric's (defaults apply without the section too).
            return ReadOptions(section, specs, "analysis", null, section?.Pos ?? kindPos);
        if (section is not { } map || map.Entries.Count == 0) return result;
        if (kind is { UsesAnalysis: false })
        {
            var users = _catalog.Kinds.Values.Where(k => k.UsesAnalysis).Select(k => k.Name).ToList();
            var list = users.Count <= 1 ? string.Concat(users) : string.Join(", ", users.Take(users.Count - 1)) + " and " + users[^1];
            Error(entry!.Key.Pos, $"analysis: kind '{kind.Name}' does not use analysis settings (they go to {list} plugins)");
            return result;
        }
        foreach (var item in map.Entries)
        {
            var key = item.Key.Value;
            if (_catalog.Metrics.TryGetValue(key, out var factory))
            {
                YMap? options = null;
                if (item.Value is YMap m) options = m;
                else if (item.Value is not YScalar { IsNull: true })
                {
                    Error(item.Value.Pos, $"analysis.{key}: expected a map of options of metric '{key}', got {item.Value.Describe()}");
                    continue;
                }
                result[key] = ReadOptions(options, factory.Options, $"analysis.{key}", null, options?.Pos ?? item.Key.Pos, enforceRequired: false);
            }
            else result[key] = ToPlain(item.Value);
        }
        return result;
    }

    private static object? ToPlain(YNode node) => node switch
    {
        YScalar s => s.ToPlainValue(),
        YSeq seq => (IReadOnlyList<object?>)seq.Items.Select(ToPlain).ToList(),
        YMap map => (IReadOnlyDictionary<string, object?>)map.Entries.ToDictionary(e => e.Key.Value, e => ToPlain(e.Value), StringComparer.Ordinal),
        _ => null,
    };

    private string? ReadOutput(YMap? map, SourcePos rootPos)
    {
        var keys = Keys(map, "in output", OutputKeys);
        var entry = keys.GetValueOrDefault("dir");
        if (!IsMissing(entry))
        {
            if (ScalarOf(entry!, "output.dir") is not { } s) return null;
            var dir = ResolvePath(s, "output.dir", "folder", mustExist: false, files: false, folders: true);
            return dir is not null && CheckWritable(dir, s.Pos, $"'{s.Value}'") ? dir : null;
        }
        var fallback = Path.TrimEndingDirectorySeparator(Path.GetFullPath("runs", _workingDirectory));
        return CheckWritable(fallback, rootPos, "(default 'runs')") ? fallback : null;
    }

    /// <summary>Checks before any model loads that the run folder can be made under <paramref name="dir"/>: no file in the
    /// way, and the nearest existing folder accepts a new entry (probed with a file deleted on close, so nothing stays).</summary>
    private bool CheckWritable(string dir, SourcePos pos, string shown)
    {
        var existing = dir;
        while (!Directory.Exists(existing))
        {
            if (File.Exists(existing))
            {
                Error(pos, $"output.dir: {shown} cannot be created: {existing} is a file; pass a folder with --set output.dir=<folder>");
                return false;
            }
            if (Path.GetDirectoryName(existing) is not { } parent) break;
            existing = parent;
        }
        try
        {
            using var probe = new FileStream(Path.Combine(existing, $".attneval-write-check-{Guid.NewGuid():N}"), FileMode.CreateNew,
                FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Error(pos, $"output.dir: {shown} is not writable: cannot create entries in {existing} ({e.Message}); pass a writable folder with --set output.dir=<folder>");
            return false;
        }
    }

    // ---------------------------------------------------------------- options (OptionSpec)

    private Dictionary<string, object?> ReadOptions(YMap? map, IReadOnlyList<OptionSpec> specs, string path, string? nameKey, SourcePos anchor, bool enforceRequired = true)
    {
        var given = new Dictionary<string, object?>(StringComparer.Ordinal);
        var set = new HashSet<string>(StringComparer.Ordinal);
        if (map is not null)
        {
            var known = specs.Select(s => s.Key).ToList();
            if (nameKey is not null) known.Insert(0, nameKey);
            foreach (var entry in map.Entries)
            {
                var key = entry.Key.Value;
                if (key == nameKey) continue;
                var spec = specs.FirstOrDefault(s => s.Key == key);
                if (spec is null)
                {
                    Error(entry.Key.Pos, $"unknown key '{key}' in {path}{Suggest.Hint(key, known)}");
                    continue;
                }
                if (entry.Value is YScalar { IsNull: true }) continue;
                set.Add(key);
                if (ConvertOption(entry.Value, spec, $"{path}.{key}") is { } value) given[key] = value;
            }
        }

        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var spec in specs)
        {
            if (given.TryGetValue(spec.Key, out var value)) result[spec.Key] = value;
            else if (set.Contains(spec.Key)) continue;
            else if (spec.Required && enforceRequired) Error(anchor, $"{path}: option '{spec.Key}' is required ({spec.Description})");
            else if (spec.Default is not null)
            {
                try
                {
                    result[spec.Key] = NormalizeDefault(spec);
                }
                catch (Exception ex) when (ex is InvalidCastException or FormatException or OverflowException)
                {
                    Error(anchor, $"{path}: the default of option '{spec.Key}' does not fit its type {spec.Type} (a plugin bug)");
                }
            }
        }
        return result;
    }

    private static object NormalizeDefault(OptionSpec spec)
    {
        var c = CultureInfo.InvariantCulture;
        object Scalar(object v, OptionType t) => t switch
        {
            OptionType.Integer or OptionType.IntegerList => Convert.ToInt64(v, c),
            OptionType.Number or OptionType.NumberList => Convert.ToDouble(v, c),
            OptionType.Boolean => (bool)v,
            _ => Convert.ToString(v, c) ?? "",
        };
        return spec.Type switch
        {
            OptionType.StringList => ((IEnumerable)spec.Default!).Cast<object>().Select(v => (string)Scalar(v, OptionType.String)).ToList(),
            OptionType.IntegerList => ((IEnumerable)spec.Default!).Cast<object>().Select(v => (long)Scalar(v, OptionType.Integer)).ToList(),
            OptionType.NumberList => ((IEnumerable)spec.Default!).Cast<object>().Select(v => (double)Scalar(v, OptionType.Number)).ToList(),
            _ => Scalar(spec.Default!, spec.Type),
        };
    }

    private object? ConvertOption(YNode node, OptionSpec spec, string path)
    {
        switch (spec.Type)
        {
            case OptionType.StringList:
            case OptionType.IntegerList:
            case OptionType.NumberList:
            {
                IReadOnlyList<YNode> items = node switch { YSeq seq => seq.Items, YScalar s => [s], _ => [] };
                if (node is YMap)
                {
                    Error(node.Pos, $"{path}: expected {Expected(spec.Type)}, got {node.Describe()}");
                    return null;
                }
                var elementType = spec.Type switch
                {
                    OptionType.StringList => OptionType.String,
                    OptionType.IntegerList => OptionType.Integer,
                    _ => OptionType.Number,
                };
                var values = new List<object>();
                var ok = true;
                for (var i = 0; i < items.Count; i++)
                {
                    if (ConvertScalar(items[i], spec, elementType, node is YSeq ? $"{path}[{i}]" : path) is { } v) values.Add(v);
                    else ok = false;
                }
                if (!ok) return null;
                return spec.Type switch
                {
                    OptionType.StringList => values.Cast<string>().ToList(),
                    OptionType.IntegerList => values.Cast<long>().ToList(),
                    _ => (object)values.Cast<double>().ToList(),
                };
            }
            default:
                return ConvertScalar(node, spec, spec.Type, path);
        }
    }

    private object? ConvertScalar(YNode node, OptionSpec spec, OptionType type, string path)
    {
        if (node is not YScalar s || s.IsNull)
        {
            Error(node.Pos, $"{path}: expected {Expected(type)}, got {(node is YScalar ? "null" : node.Describe())}");
            return null;
        }
        switch (type)
        {
            case OptionType.Integer:
                if (!s.TryInteger(out var l)) break;
                return InRange(s, l, spec.Min, false, spec.Max, false, path) ? l : null;
            case OptionType.Number:
                if (!s.TryNumber(out var d)) break;
                return InRange(s, d, spec.Min, false, spec.Max, false, path) ? d : null;
            case OptionType.Boolean:
                if (!s.TryBoolean(out var b)) break;
                return b;
            case OptionType.FilePath:
            case OptionType.FolderPath:
                if (spec.AllowedValues is { Count: > 0 } keywords && keywords.Contains(s.Value, StringComparer.Ordinal)) return s.Value;
                bool file = type == OptionType.FilePath;
                return ResolvePath(s, path, file ? "file" : "folder", mustExist: true, files: file, folders: !file);
            default:
                if (spec.AllowedValues is { Count: > 0 } allowed && !allowed.Contains(s.Value, StringComparer.Ordinal))
                {
                    Error(s.Pos, $"{path}: '{s.Value}' is not one of {string.Join(", ", allowed)}{NearHint(s.Value, allowed)}");
                    return null;
                }
                return s.Value;
        }
        Error(s.Pos, $"{path}: expected {Expected(type)}, got '{s.Value}'");
        return null;
    }

    private static string Expected(OptionType type) => type switch
    {
        OptionType.Integer => "an integer",
        OptionType.Number => "a number",
        OptionType.Boolean => "true or false",
        OptionType.String => "a string",
        OptionType.StringList => "a list of strings",
        OptionType.IntegerList => "a list of integers",
        OptionType.NumberList => "a list of numbers",
        OptionType.FilePath => "a path to an existing file",
        OptionType.FolderPath => "a path to an existing folder",
        _ => type.ToString(),
    };

    // ---------------------------------------------------------------- primitives

    /// <summary>Builds the metric once with its options, so that checks only the plugin can make (a head name, a condition
    /// string, a URL) are reported here, at the metric's position, by <c>validate</c> and before any model loads. A
    /// factory's <c>Create</c> only reads its options; an <see cref="ArgumentException"/> or
    /// <see cref="InvalidDataException"/> it throws becomes one recipe error.</summary>
    private void CheckCreate(IMetricFactory factory, MetricSpec spec, SourcePos pos)
    {
        try
        {
            _ = factory switch
            {
                ISampleEstimatorFactory f => (object)f.Create(spec.Options),
                IHeadAnalysisFactory f => f.Create(spec.Options),
                IDataScorerFactory f => f.Create(spec.Options),
                IAgentEvaluationFactory f => f.Create(spec.Options),
                _ => null,
            };
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or FormatException)
        {
            var message = e is ArgumentException { ParamName: not null } ae ? ae.Message.Replace($" (Parameter '{ae.ParamName}')", "", StringComparison.Ordinal) : e.Message;
            Error(pos, message.StartsWith($"metrics.{spec.Name}", StringComparison.Ordinal) ? message : $"metrics.{spec.Name}: {message}");
        }
    }

    private void Error(SourcePos pos, string message)
    {
        if (pos.File == RecipeError.CommandLine && pos.Column >= 1 && pos.Column <= _overrides.Count && !message.StartsWith("--set ", StringComparison.Ordinal))
            message = $"--set '{_overrides[pos.Column - 1]}': {message}";
        _errors.Add(pos.Error(message));
    }

    private static string KnownList(IEnumerable<string> names)
    {
        var list = names.Order(StringComparer.Ordinal).ToList();
        return list.Count == 0 ? "" : $" (known: {string.Join(", ", list)})";
    }

    private static string NearHint(string input, IEnumerable<string> candidates) =>
        Suggest.Nearest(input, candidates) is { } near ? $"; did you mean '{near}'?" : "";

    /// <summary>True when the key is absent or its value is null.</summary>
    private static bool IsMissing(YEntry? entry) => entry is null || entry.Value is YScalar { IsNull: true };

    /// <summary>Reports unknown keys (with the nearest known key) and returns the known entries by key.</summary>
    private Dictionary<string, YEntry> Keys(YMap? map, string where, IReadOnlyList<string> known)
    {
        if (map is null) return new Dictionary<string, YEntry>(StringComparer.Ordinal);
        var result = new Dictionary<string, YEntry>(StringComparer.Ordinal);
        foreach (var entry in map.Entries)
        {
            if (known.Contains(entry.Key.Value)) result[entry.Key.Value] = entry;
            else Error(entry.Key.Pos, $"unknown key '{entry.Key.Value}' {where}{Suggest.Hint(entry.Key.Value, known)}");
        }
        return result;
    }

    private YScalar? ScalarOf(YEntry entry, string path)
    {
        if (entry.Value is YScalar s) return s;
        Error(entry.Value.Pos, $"{path}: expected a string, got {entry.Value.Describe()}");
        return null;
    }

    private YMap? ReadMap(YEntry? entry, string path)
    {
        if (IsMissing(entry)) return null;
        if (entry!.Value is YMap map) return map;
        Error(entry.Value.Pos, $"{path}: expected a map, got {entry.Value.Describe()}");
        return null;
    }

    private string? ReadString(YEntry? entry, string path) =>
        IsMissing(entry) ? null : ScalarOf(entry!, path)?.Value;

    private string? ReadChoice(YEntry? entry, string path, IReadOnlyList<string> allowed)
    {
        if (IsMissing(entry) || ScalarOf(entry!, path) is not { } s) return null;
        if (allowed.Contains(s.Value)) return s.Value;
        Error(s.Pos, $"{path}: '{s.Value}' is not one of {string.Join(", ", allowed)}{NearHint(s.Value, allowed)}");
        return null;
    }

    private long? ReadInteger(YEntry? entry, string path, long min, long max)
    {
        if (IsMissing(entry)) return null;
        if (entry!.Value is YScalar s && s.TryInteger(out var value))
            return InRange(s, value, min == long.MinValue ? null : min, false, max == long.MaxValue ? null : max, false, path) ? value : null;
        Error(entry.Value.Pos, $"{path}: expected an integer, got {entry.Value.Describe()}");
        return null;
    }

    private double? ReadNumber(YEntry? entry, string path, double? min, bool minExclusive, double? max, bool maxExclusive)
    {
        if (IsMissing(entry)) return null;
        if (entry!.Value is YScalar s && s.TryNumber(out var value))
            return InRange(s, value, min, minExclusive, max, maxExclusive, path) ? value : null;
        Error(entry.Value.Pos, $"{path}: expected a number, got {entry.Value.Describe()}");
        return null;
    }

    private bool? ReadBoolean(YEntry? entry, string path)
    {
        if (IsMissing(entry)) return null;
        if (entry!.Value is YScalar s && s.TryBoolean(out var value)) return value;
        Error(entry.Value.Pos, $"{path}: expected true or false, got {entry.Value.Describe()}");
        return null;
    }

    private bool InRange(YScalar s, double value, double? min, bool minExclusive, double? max, bool maxExclusive, string path)
    {
        var low = min is null || (minExclusive ? value > min : value >= min);
        var high = max is null || (maxExclusive ? value < max : value <= max);
        if (low && high) return true;
        Error(s.Pos, $"{path}: {s.Value} is out of range {RecipeNumbers.Range(min, minExclusive, max, maxExclusive)}");
        return false;
    }

    /// <summary>A list of non-null scalars; a single scalar counts as a list of one.</summary>
    private IReadOnlyList<YScalar> ReadScalarList(YEntry? entry, string path)
    {
        if (IsMissing(entry)) return [];
        var items = entry!.Value switch
        {
            YSeq seq => seq.Items,
            YScalar s => [s],
            _ => null,
        };
        if (items is null)
        {
            Error(entry.Value.Pos, $"{path}: expected a list of strings, got {entry.Value.Describe()}");
            return [];
        }
        var result = new List<YScalar>();
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i] is YScalar { IsNull: false } s) result.Add(s);
            else Error(items[i].Pos, $"{path}[{i}]: expected a string, got {(items[i] is YScalar ? "null" : items[i].Describe())}");
        }
        return result;
    }

    /// <summary>Resolves a path against the working directory, then the folder of the file that wrote it.</summary>
    private string? ResolvePath(YScalar node, string path, string what, bool mustExist, bool files, bool folders)
    {
        var raw = node.Value;
        if (raw.Trim().Length == 0)
        {
            Error(node.Pos, $"{path}: expected a path, got ''");
            return null;
        }
        var recipeFolder = Path.GetDirectoryName(node.Pos.File == RecipeError.CommandLine ? _sourceFile : node.Pos.File)!;
        var bases = Path.IsPathRooted(raw) ? [""] : new[] { _workingDirectory, recipeFolder }.Distinct(StringComparer.Ordinal).ToArray();
        var candidates = bases.Select(b => Path.TrimEndingDirectorySeparator(Path.GetFullPath(b.Length == 0 ? raw : Path.Combine(b, raw)))).ToList();
        foreach (var candidate in candidates)
            if ((files && File.Exists(candidate)) || (folders && Directory.Exists(candidate))) return candidate;
        if (!mustExist) return candidates[0];
        var where = Path.IsPathRooted(raw) ? "" : $" (looked in {string.Join(" and ", bases)})";
        Error(node.Pos, $"{path}: {what} '{raw}' not found{where}{MissingPathHint(node, path, files, folders)}");
        return null;
    }

    /// <summary>How to supply a path a recipe file names but this machine lacks: the <c>--set</c> that replaces it, and,
    /// for a path into the shared data folder (<c>../shared/data</c>, real models and data sets kept beside the
    /// repository and not shipped with it), that this is why it is missing. Empty for a value typed with <c>--set</c>.</summary>
    private string MissingPathHint(YScalar node, string path, bool files, bool folders)
    {
        if (node.Pos.File == RecipeError.CommandLine) return "";
        var key = _setKeys.Where(p => path.StartsWith(p.Key + ".", StringComparison.Ordinal)).Select(p => p.Value + path[p.Key.Length..]).FirstOrDefault() ?? path;
        var placeholder = files && folders ? "<path>" : files ? "<file>" : "<folder>";
        var segments = node.Value.Replace('\\', '/').Split('/');
        var shared = Enumerable.Range(0, Math.Max(0, segments.Length - 1)).FirstOrDefault(i => segments[i] == "shared" && segments[i + 1] == "data", -1);
        if (shared < 0) return $"; pass one with --set {key}={placeholder}";
        var folder = string.Join('/', segments.Take(shared + 2));
        return $"; {folder} is AttnEval's shared data folder (real models and data sets), which the repository does not ship: " +
               $"place it beside the repository, or pass your own with --set {key}={placeholder}";
    }
}
