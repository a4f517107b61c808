using System.Text.Json;
using AttnEval.Abstractions;

namespace AttnEval.ModelFiles;

/// <summary>Reads typed keys from a Hugging Face <c>config.json</c>, throwing <see cref="ModelLoadException"/>
/// that names the file, the key and the expected type.</summary>
public sealed class ConfigReader
{
    private readonly JsonElement _root;

    /// <summary>Wraps an already parsed JSON object.</summary>
    /// <param name="root">The object whose keys are read.</param>
    /// <param name="file">File name (or a description such as <c>config.json (rope_scaling)</c>) used in error messages.</param>
    public ConfigReader(JsonElement root, string file) { _root = root; File = file; }

    /// <summary>The file named in error messages.</summary>
    public string File { get; }

    /// <summary>Parses a JSON file.</summary>
    /// <exception cref="ModelLoadException">The file is missing or not valid JSON.</exception>
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

    /// <summary>A special-token key of <c>tokenizer_config.json</c> (<c>bos_token</c>, …): a string, or the <c>content</c> of
    /// an <c>AddedToken</c> object; null when absent or neither.</summary>
    public string? TokenContent(string key) => Element(key) switch
    {
        { ValueKind: JsonValueKind.String } v => v.GetString(),
        { ValueKind: JsonValueKind.Object } o when o.TryGetProperty("content", out var c) => c.GetString(),
        _ => null,
    };

    /// <summary>True when <paramref name="key"/> is present and not null.</summary>
    public bool Has(string key) => _root.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null;

    /// <summary>The value of <paramref name="key"/>, or null when absent or null.</summary>
    public JsonElement? Element(string key) => _root.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    /// <summary>An integer key; <paramref name="fallback"/> when absent.</summary>
    /// <exception cref="ModelLoadException">Not an integer, or absent without a fallback.</exception>
    public int Int(string key, int? fallback = null)
    {
        if (Element(key) is { } v)
            return v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i
                : throw new ModelLoadException($"{File}: key '{key}' is {v}, expected an integer.");
        return fallback ?? throw new ModelLoadException($"{File}: missing key '{key}' (expected an integer).");
    }

    /// <summary>A number key; <paramref name="fallback"/> when absent.</summary>
    /// <exception cref="ModelLoadException">Not a number, or absent without a fallback.</exception>
    public double Double(string key, double? fallback = null)
    {
        if (Element(key) is { } v)
            return v.ValueKind == JsonValueKind.Number ? v.GetDouble()
                : throw new ModelLoadException($"{File}: key '{key}' is {v}, expected a number.");
        return fallback ?? throw new ModelLoadException($"{File}: missing key '{key}' (expected a number).");
    }

    /// <summary>A boolean key; <paramref name="fallback"/> when absent.</summary>
    /// <exception cref="ModelLoadException">Not true or false.</exception>
    public bool Bool(string key, bool fallback) =>
        Element(key) is { } v
            ? v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean()
                : throw new ModelLoadException($"{File}: key '{key}' is {v}, expected true or false.")
            : fallback;

    /// <summary>A string key, or null when absent.</summary>
    /// <exception cref="ModelLoadException">Not a string.</exception>
    public string? String(string key) =>
        Element(key) is { } v ? v.ValueKind == JsonValueKind.String ? v.GetString()
            : throw new ModelLoadException($"{File}: key '{key}' is {v}, expected a string.") : null;

    /// <summary>An id or a list of ids (e.g. <c>eos_token_id</c>); empty when absent.</summary>
    /// <exception cref="ModelLoadException">Neither a number nor a list.</exception>
    public IReadOnlyList<int> Ids(string key)
    {
        if (Element(key) is not { } v) return [];
        if (v.ValueKind == JsonValueKind.Number) return [v.GetInt32()];
        if (v.ValueKind == JsonValueKind.Array) return v.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.Number).Select(e => e.GetInt32()).ToList();
        throw new ModelLoadException($"{File}: key '{key}' is {v}, expected an id or a list of ids.");
    }
}
