using System.Text.Json;
using AttnEval.Abstractions;

namespace AttnEval.Backends.TorchSharp.Modeling;

/// <summary>Reads typed keys from a Hugging Face <c>config.json</c>, throwing <see cref="ModelLoadException"/>
/// that names the file, the key and the expected type.</summary>
internal sealed class ConfigReader
{
    private readonly JsonElement _root;

    public ConfigReader(JsonElement root, string file) { _root = root; File = file; }

    public string File { get; }

    public static ConfigReader Open(string path)
    {
        if (!System.IO.File.Exists(path)) throw new ModelLoadException($"{path}: file not found (expected a Hugging Face config.json).");
        try
        {
            using var doc = JsonDocument.Parse(System.IO.File.ReadAllBytes(path));
            return new ConfigReader(doc.RootElement.Clone(), path);
        }
        catch (JsonException e) { throw new ModelLoadException($"{path}: not valid JSON ({e.Message}).", e); }
    }

    public bool Has(string key) => _root.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null;

    public JsonElement? Element(string key) => _root.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public int Int(string key, int? fallback = null)
    {
        if (Element(key) is { } v)
            return v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i
                : throw new ModelLoadException($"{File}: key '{key}' is {v}, expected an integer.");
        return fallback ?? throw new ModelLoadException($"{File}: missing key '{key}' (expected an integer).");
    }

    public double Double(string key, double? fallback = null)
    {
        if (Element(key) is { } v)
            return v.ValueKind == JsonValueKind.Number ? v.GetDouble()
                : throw new ModelLoadException($"{File}: key '{key}' is {v}, expected a number.");
        return fallback ?? throw new ModelLoadException($"{File}: missing key '{key}' (expected a number).");
    }

    public bool Bool(string key, bool fallback) =>
        Element(key) is { } v
            ? v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean()
                : throw new ModelLoadException($"{File}: key '{key}' is {v}, expected true or false.")
            : fallback;

    public string? String(string key) =>
        Element(key) is { } v ? v.ValueKind == JsonValueKind.String ? v.GetString()
            : throw new ModelLoadException($"{File}: key '{key}' is {v}, expected a string.") : null;

    /// <summary>An id or a list of ids (e.g. <c>eos_token_id</c>).</summary>
    public IReadOnlyList<int> Ids(string key)
    {
        if (Element(key) is not { } v) return [];
        if (v.ValueKind == JsonValueKind.Number) return [v.GetInt32()];
        if (v.ValueKind == JsonValueKind.Array) return v.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.Number).Select(e => e.GetInt32()).ToList();
        throw new ModelLoadException($"{File}: key '{key}' is {v}, expected an id or a list of ids.");
    }
}
