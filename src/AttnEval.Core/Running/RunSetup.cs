using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using AttnEval.Abstractions;
using AttnEval.Core.Plugins;
using AttnEval.Core.Recipes;
using AttnEval.Core.Runs;

namespace AttnEval.Core.Running;

/// <summary>
/// The steps every runner shares (DESIGN.md §3, §7): find and check the backend, open or resume the run folder, load the
/// model, and record it in the manifest. A resumed folder is checked before the (slow) model load; a new folder is created
/// only once the model has loaded, so a model that fails to load leaves nothing behind.
/// </summary>
internal static class RunSetup
{
    /// <summary>The recipe's backend, checked for the recipe's device.</summary>
    /// <exception cref="RunInputException">Not installed, or the device is unavailable.</exception>
    public static IModelBackend Backend(IComponentCatalog catalog, Recipe recipe)
    {
        if (!catalog.Backends.TryGetValue(recipe.Model.Backend, out var backend))
            throw new RunInputException($"{recipe.SourceFile}: model.backend '{recipe.Model.Backend}' is not installed");
        if (!backend.IsAvailable(recipe.Model.Device, out var why))
            throw new RunInputException($"{recipe.SourceFile}: model.device '{recipe.Model.Device}': {why}");
        return backend;
    }

    /// <summary>Loads the model, runs <c>checkModel</c> on it (a refusal there leaves no run folder behind), then creates the run
    /// folder (or uses the resumed one) and records the model in its manifest.</summary>
    /// <exception cref="RunInputException">The model does not load.</exception>
    /// <exception cref="RunFolderException">The resumed folder belongs to another recipe or model.</exception>
    public static (RunFolder Folder, ILanguageModel Model) Open(IModelBackend backend, Recipe recipe, string? resumeDir,
        IEnumerable<object> components, IRunObserver observer, CancellationToken ct, Action<ILanguageModel>? checkModel = null)
    {
        var started = DateTime.UtcNow;
        var yaml = recipe.ToResolvedYaml();
        var folder = resumeDir is null ? null : RunFolder.Resume(resumeDir, yaml);
        ILanguageModel? model = null;
        try
        {
            observer.Status($"loading model {recipe.Model.Path} ({recipe.Model.Backend}, {recipe.Model.Device})");
            try { model = backend.Load(recipe.Model, ct); }
            catch (ModelLoadException e) { throw new RunInputException(e.Message, e); }
            foreach (var warning in model.Info.Warnings) observer.Status("warning: " + warning);
            checkModel?.Invoke(model);
            bool resumed = folder is not null;
            folder ??= RunFolder.Create(recipe.OutputDir, recipe.Name, yaml, Manifest(recipe, components, started));
            RecordModel(folder, model.Info);
            if (resumed)
                EditManifest(folder, m =>
                {
                    if (m["resumed_utc"] is not JsonArray times) m["resumed_utc"] = times = new JsonArray();
                    times.Add(Utc(started));
                });
            return (folder, model);
        }
        catch
        {
            model?.Dispose();
            folder?.Dispose();
            throw;
        }
    }

    /// <summary>The manifest of a new run: versions, recipe name, dataset hash, seeds, dtype, device, machine, and when the
    /// run started (<paramref name="startedUtc"/>, default now; <see cref="RecordEnd"/> adds the end and the duration).</summary>
    public static JsonObject Manifest(Recipe recipe, IEnumerable<object> components, DateTime? startedUtc = null)
    {
        var versions = new JsonObject();
        foreach (var a in components.Select(o => o.GetType().Assembly).Distinct())
            versions[a.GetName().Name!] = Version(a);
        return new JsonObject
        {
            ["attneval_version"] = Version(typeof(RunSetup).Assembly),
            ["contract_version"] = typeof(IAttnEvalPlugin).Assembly.GetName().Version?.ToString(),
            ["components"] = versions,
            ["recipe_name"] = recipe.Name,
            ["kind"] = recipe.Kind,
            ["dataset"] = recipe.Dataset is { } d ? new JsonObject { ["path"] = d.Path, ["sha256"] = FileSha256(d.Path) } : null,
            ["seeds"] = new JsonObject { ["generation"] = recipe.Generation.Seed, ["dataset"] = recipe.Dataset?.Seed, ["evaluation"] = recipe.Evaluation.Seed },
            ["dtype"] = recipe.Model.DType,
            ["device"] = recipe.Model.Device,
            ["machine"] = new JsonObject
            {
                ["os"] = RuntimeInformation.OSDescription,
                ["arch"] = RuntimeInformation.ProcessArchitecture.ToString(),
                ["cores"] = Environment.ProcessorCount,
                ["dotnet"] = RuntimeInformation.FrameworkDescription,
            },
            ["started_utc"] = Utc(startedUtc ?? DateTime.UtcNow),
        };
    }

    /// <summary>Records in the manifest when the run ended (<c>ended_utc</c>, once <c>summary.json</c> and the report are
    /// written) and <c>duration_s</c>, the seconds from <c>started_utc</c> (the first attempt's start, before the model
    /// loads) to that end: a resumed run (<c>resumed_utc</c> lists each resume) counts the time between its attempts too.</summary>
    public static void RecordEnd(RunFolder folder, DateTime? endedUtc = null)
    {
        var ended = endedUtc ?? DateTime.UtcNow;
        EditManifest(folder, m =>
        {
            m["ended_utc"] = Utc(ended);
            if (DateTime.TryParse((string?)m["started_utc"], CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var started))
                m["duration_s"] = Math.Round((ended - started.ToUniversalTime()).TotalSeconds, 3);
        });
    }

    private static string Utc(DateTime time) => time.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);

    /// <summary>Applies <paramref name="edit"/> to the folder's manifest (held in memory) and writes it atomically.</summary>
    private static void EditManifest(RunFolder folder, Action<JsonObject> edit) => folder.EditManifest(edit);

    /// <summary>Records the loaded model in the manifest; on resume, refuses a model whose weights changed.</summary>
    /// <exception cref="RunFolderException">The weights' sha256 differs from the recorded one.</exception>
    public static void RecordModel(RunFolder folder, ModelInfo info)
    {
        EditManifest(folder, manifest =>
        {
            var known = (string?)manifest["model"]?["weights_sha256"];
            if (known is not null && known != info.WeightsSha256)
                throw new RunFolderException($"{folder.Path}: the model's weights changed since this run started (sha256 {known[..Math.Min(12, known.Length)]} → {info.WeightsSha256[..Math.Min(12, info.WeightsSha256.Length)]}); start a new run");
            manifest["model"] = new JsonObject
            {
                ["name"] = info.Name, ["architecture"] = info.Architecture, ["layers"] = info.Layers, ["heads"] = info.Heads,
                ["kv_heads"] = info.KvHeads, ["d_model"] = info.DModel, ["vocab_size"] = info.VocabSize,
                ["context_length"] = info.ContextLength, ["dtype"] = info.DType, ["device"] = info.Device,
                ["weights_sha256"] = info.WeightsSha256,
            };
            if (info.Warnings.Count > 0) manifest["model"]!["warnings"] = new JsonArray(info.Warnings.Select(w => (JsonNode?)w).ToArray());
        });
    }

    /// <summary>The header every <c>summary.json</c> of an analysis run starts with: schema version, recipe name and kind,
    /// model path, number of records and of records with an error (<paramref name="errorKey"/>).</summary>
    public static JsonObject SummaryHeader(Recipe recipe, IReadOnlyList<JsonObject> records, string errorKey) => new()
    {
        ["schema_version"] = RunFolder.SchemaVersion,
        ["name"] = recipe.Name,
        ["kind"] = recipe.Kind,
        ["model"] = recipe.Model.Path,
        ["n_samples"] = records.Count,
        ["n_errors"] = records.Count(r => r[errorKey] is not null),
    };

    /// <summary>"Type: message" of an exception, for the <c>error</c> field of a record.</summary>
    public static string Describe(Exception e) => $"{e.GetType().Name}: {e.Message}";

    private static string? Version(Assembly a) =>
        a.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0] ?? a.GetName().Version?.ToString();

    private static string FileSha256(string path)
    {
        using var fs = File.OpenRead(path);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(fs));
    }
}
