using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AttnEval.Core.Runs;

/// <summary>A run folder would not open: a resumed recipe changed, or the folder is not a run.</summary>
public sealed class RunFolderException : Exception
{
    /// <summary>Creates the exception.</summary>
    public RunFolderException(string message) : base(message) { }
}

/// <summary>
/// One run folder (DESIGN.md §7, schema version <see cref="SchemaVersion"/>):
/// <c>recipe.resolved.yaml</c>, <c>manifest.json</c>, append-only <c>samples.jsonl</c> (one line per
/// finished sample, flushed to disk after each line), <c>summary.json</c> (written atomically at the end)
/// and reports. A run killed at any moment can be resumed: a torn last line is cut off, finished ids are
/// skipped, and a recipe whose hash differs from the manifest's is refused.
/// </summary>
public sealed class RunFolder : IDisposable
{
    /// <summary>Version of the run-folder format.</summary>
    public const int SchemaVersion = 1;
    /// <summary>File names inside a run folder.</summary>
    public const string RecipeFile = "recipe.resolved.yaml", ManifestFile = "manifest.json", SamplesFile = "samples.jsonl", SummaryFile = "summary.json",
        TimingsFile = "timings.jsonl";

    /// <summary>Readable JSON (no \uXXXX escapes for '+', '&lt;', non-ASCII); HTML escaping is the report's job.</summary>
    internal static readonly JsonSerializerOptions LineOptions = new() { WriteIndented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonSerializerOptions DocumentOptions = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly FileStream _samples;
    private readonly HashSet<string> _finished;
    private readonly List<JsonObject> _records;
    private readonly Dictionary<string, JsonObject> _timings;
    private readonly JsonObject _manifest;

    private RunFolder(string path, FileStream samples, List<JsonObject> records, Dictionary<string, JsonObject> timings, JsonObject manifest)
    {
        Path = path; _samples = samples; _records = records; _timings = timings; _manifest = manifest;
        _finished = records.Select(r => (string?)r["id"]).OfType<string>().ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Full path of the folder.</summary>
    public string Path { get; }

    /// <summary>Ids of the samples already in <c>samples.jsonl</c>.</summary>
    public IReadOnlySet<string> FinishedIds => _finished;

    /// <summary>Every record of <c>samples.jsonl</c> in file order: those of earlier attempts (read once, when the folder was
    /// resumed) and those appended since, each as its written line parses — what <see cref="ReadSamples"/> would return, without
    /// reading back what this run wrote.</summary>
    public IReadOnlyList<JsonObject> Records => _records;

    /// <summary>The timing lines by id, as <see cref="ReadTimings"/> would return them (the last line of an id wins), kept in memory.</summary>
    public IReadOnlyDictionary<string, JsonObject> Timings => _timings;

    /// <summary>The manifest as last written (<see cref="EditManifest"/> changes it and writes it atomically).</summary>
    public JsonObject Manifest => _manifest;

    /// <summary>Applies <paramref name="edit"/> to the manifest and writes it atomically; the file is written, never read back.</summary>
    public void EditManifest(Action<JsonObject> edit)
    {
        edit(_manifest);
        WriteJson(ManifestFile, _manifest);
    }

    /// <summary>Full path of a file inside the folder.</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Creates <c>&lt;outputDir&gt;/&lt;name&gt;-&lt;utc yyyyMMdd-HHmmss&gt;</c> (a numeric suffix if it exists) and writes
    /// the resolved recipe and the manifest.</summary>
    /// <param name="outputDir">Parent folder (created if missing).</param>
    /// <param name="name">Recipe name.</param>
    /// <param name="resolvedYaml">Canonical resolved recipe text.</param>
    /// <param name="manifest">Manifest; <c>schema_version</c> and <c>recipe_sha256</c> are added.</param>
    /// <param name="utcNow">Clock, for tests.</param>
    public static RunFolder Create(string outputDir, string name, string resolvedYaml, JsonObject manifest, DateTime? utcNow = null)
    {
        var stamp = (utcNow ?? DateTime.UtcNow).ToString("yyyyMMdd-HHmmss", System.Globalization.CultureInfo.InvariantCulture);
        var baseDir = System.IO.Path.Combine(System.IO.Path.GetFullPath(outputDir), $"{name}-{stamp}");
        var dir = baseDir;
        for (int i = 2; Directory.Exists(dir); i++) dir = $"{baseDir}-{i}";
        Directory.CreateDirectory(dir);
        WriteAtomic(System.IO.Path.Combine(dir, RecipeFile), resolvedYaml);
        manifest["schema_version"] = SchemaVersion;
        manifest["recipe_sha256"] = Sha256(resolvedYaml);
        WriteAtomic(System.IO.Path.Combine(dir, ManifestFile), manifest.ToJsonString(DocumentOptions));
        var fs = new FileStream(System.IO.Path.Combine(dir, SamplesFile), FileMode.CreateNew, FileAccess.Write, FileShare.Read);
        return new RunFolder(dir, fs, [], [], manifest);
    }

    /// <summary>The path of a finished run's <c>summary.json</c>, for commands that read a run folder (<c>report</c>):
    /// each way the folder can fall short gets its own message, and only a run that has not finished is told to resume.</summary>
    /// <param name="runDir">The folder given.</param>
    /// <exception cref="DirectoryNotFoundException">No such folder.</exception>
    /// <exception cref="InvalidDataException">A folder that is not a run folder (no <c>manifest.json</c>).</exception>
    /// <exception cref="FileNotFoundException">A run folder with no <c>summary.json</c>: the run has not finished.</exception>
    public static string RequireSummary(string runDir)
    {
        var summaryPath = System.IO.Path.Combine(runDir, SummaryFile);
        if (System.IO.File.Exists(summaryPath)) return summaryPath;
        if (!Directory.Exists(runDir))
            throw new DirectoryNotFoundException($"{runDir}: no such folder; expected a run folder written by 'attneval run' (runs/<name>-<utc>/)");
        if (!System.IO.File.Exists(System.IO.Path.Combine(runDir, ManifestFile)))
            throw new InvalidDataException($"{runDir}: not a run folder (no {ManifestFile}); expected a folder written by 'attneval run' (runs/<name>-<utc>/)");
        throw new FileNotFoundException($"{summaryPath}: no summary (the run has not finished); finish it with: attneval run <recipe> --resume {runDir}", summaryPath);
    }

    /// <summary>Reopens a run folder to continue it.</summary>
    /// <exception cref="RunFolderException">Not a run folder, another schema version, or the recipe changed.</exception>
    public static RunFolder Resume(string dir, string resolvedYaml)
    {
        dir = System.IO.Path.GetFullPath(dir);
        var manifestPath = System.IO.Path.Combine(dir, ManifestFile);
        if (!System.IO.File.Exists(manifestPath))
            throw new RunFolderException($"{dir}: not a run folder (no {ManifestFile})");
        var manifest = JsonNode.Parse(System.IO.File.ReadAllText(manifestPath))?.AsObject()
                       ?? throw new RunFolderException($"{manifestPath}: empty manifest");
        if ((int?)manifest["schema_version"] != SchemaVersion)
            throw new RunFolderException($"{manifestPath}: run-folder schema {manifest["schema_version"]} is not {SchemaVersion}");
        var recorded = (string?)manifest["recipe_sha256"];
        var now = Sha256(resolvedYaml);
        if (recorded != now)
        {
            var before = System.IO.Path.Combine(dir, RecipeFile);
            throw new RunFolderException($"{dir}: the recipe changed since this run started (sha256 {Short(recorded)} → {Short(now)}); " +
                                         $"compare with {before}, or start a new run instead of --resume");
        }
        var samplesPath = System.IO.Path.Combine(dir, SamplesFile);
        var records = RepairAndRead(samplesPath);
        var fs = new FileStream(samplesPath, FileMode.Append, FileAccess.Write, FileShare.Read);
        return new RunFolder(dir, fs, records, new Dictionary<string, JsonObject>(ReadTimings(dir)), manifest);
    }

    /// <summary>Appends one finished sample record (must carry a string <c>id</c>) and flushes it to disk.</summary>
    /// <exception cref="ArgumentException">No id, or the id is already finished.</exception>
    public void Append(JsonObject record)
    {
        var id = (string?)record["id"] ?? throw new ArgumentException("a sample record needs a string 'id'", nameof(record));
        if (!_finished.Add(id)) throw new ArgumentException($"sample '{id}' is already in {SamplesFile}", nameof(record));
        var line = record.ToJsonString(LineOptions);
        _samples.Write(Encoding.UTF8.GetBytes(line + "\n"));
        _samples.Flush(flushToDisk: true);
        // Kept as the line parses (JSON numbers as the file holds them), so summaries see exactly what a reader of the file sees.
        _records.Add(JsonNode.Parse(line)!.AsObject());
    }

    /// <summary>Appends one sample's timing line (<c>timings.jsonl</c>: its <c>id</c> and seconds spent per step), kept apart from
    /// <c>samples.jsonl</c> so that records stay byte-identical between runs of the same recipe.</summary>
    public void AppendTiming(JsonObject timing)
    {
        var line = timing.ToJsonString(LineOptions);
        System.IO.File.AppendAllText(File(TimingsFile), line + "\n");
        if (JsonNode.Parse(line) is JsonObject o && (string?)o["id"] is { } id) _timings[id] = o;
    }

    /// <summary>Reads a run folder's <c>timings.jsonl</c> (empty when absent; torn or malformed lines skipped: timings are
    /// informative, never needed to finish a run). The last line of an id wins (a resumed run may time a sample again).</summary>
    public static IReadOnlyDictionary<string, JsonObject> ReadTimings(string dir)
    {
        var path = System.IO.Path.Combine(dir, TimingsFile);
        var byId = new Dictionary<string, JsonObject>();
        if (!System.IO.File.Exists(path)) return byId;
        foreach (var line in System.IO.File.ReadLines(path))
        {
            try { if (JsonNode.Parse(line) is JsonObject o && (string?)o["id"] is { } id) byId[id] = o; }
            catch (JsonException) { }
        }
        return byId;
    }

    /// <summary>Reads every record of a run folder's <c>samples.jsonl</c>, skipping a torn last line.</summary>
    public static IReadOnlyList<JsonObject> ReadSamples(string dir)
    {
        var path = System.IO.Path.Combine(dir, SamplesFile);
        var list = new List<JsonObject>();
        if (!System.IO.File.Exists(path)) return list;
        using var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
        int lineNo = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNo++;
            if (line.Length == 0) continue;
            try { list.Add(JsonNode.Parse(line)!.AsObject()); }
            catch (JsonException) when (reader.EndOfStream) { break; }
            catch (JsonException e) { throw new InvalidDataException($"{path}:{lineNo}: not a JSON record ({e.Message})"); }
        }
        return list;
    }

    /// <summary>Writes a JSON document atomically (temp file in the folder, then rename).</summary>
    public void WriteJson(string name, JsonNode node) =>
        WriteAtomic(File(name), node.ToJsonString(DocumentOptions));

    /// <summary>Writes a text file atomically (temp file, then rename over the target).</summary>
    public static void WriteAtomic(string path, string content)
    {
        var tmp = path + ".tmp-" + Environment.ProcessId;
        System.IO.File.WriteAllText(tmp, content, new UTF8Encoding(false));
        System.IO.File.Move(tmp, path, overwrite: true);
    }

    /// <summary>Lower-case hex sha256 of UTF-8 text.</summary>
    public static string Sha256(string text) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static string Short(string? h) => h is null ? "none" : h[..Math.Min(12, h.Length)];

    /// <summary>Cuts a torn last line (a kill during a write) and returns the complete lines' records.</summary>
    private static List<JsonObject> RepairAndRead(string path)
    {
        var records = new List<JsonObject>();
        if (!System.IO.File.Exists(path)) return records;
        var bytes = System.IO.File.ReadAllBytes(path);
        int lastNewline = Array.LastIndexOf(bytes, (byte)'\n');
        int keep = lastNewline + 1;
        if (keep < bytes.Length)
            using (var fs = new FileStream(path, FileMode.Open, FileAccess.Write)) fs.SetLength(keep);
        foreach (var line in Encoding.UTF8.GetString(bytes, 0, keep).Split('\n'))
        {
            if (line.Length == 0) continue;
            if (JsonNode.Parse(line) is JsonObject record) records.Add(record);
        }
        return records;
    }

    /// <inheritdoc />
    public void Dispose() => _samples.Dispose();
}
