using System.Text.Json;
using AttnEval.Abstractions;

namespace AttnEval.ModelFiles.Tokenization.HuggingFace;

/// <summary>Typed reads of one component object of <c>tokenizer.json</c> (a normalizer, pre-tokenizer, post-processor or
/// decoder), each failure a <see cref="ModelLoadException"/> naming the file, the component's JSON path and what was
/// expected.</summary>
internal readonly struct JsonSection(JsonElement element, string file, string path)
{
    public JsonElement Element { get; } = element;
    public string File { get; } = file;
    public string Path { get; } = path;

    public string Type => Element.ValueKind == JsonValueKind.Object && Element.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String
        ? t.GetString()!
        : throw Fail("has no \"type\"");

    public ModelLoadException Fail(string what) => new($"{File}: {Path} {what}.");

    public ModelLoadException Unsupported(string kind, string supported) =>
        new($"{File}: {Path} is a {kind} of type '{Type}', which AttnEval does not read (it reads {supported}).");

    public JsonSection Child(string key) =>
        Element.TryGetProperty(key, out var v) ? new(v, File, $"{Path}.{key}") : throw Fail($"has no \"{key}\"");

    public IEnumerable<JsonSection> Items(string key)
    {
        var arr = Child(key);
        if (arr.Element.ValueKind != JsonValueKind.Array) throw arr.Fail("is not an array");
        int i = 0;
        foreach (var e in arr.Element.EnumerateArray()) yield return new(e, File, $"{arr.Path}[{i++}]");
    }

    public bool Bool(string key, bool fallback) =>
        !Element.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null ? fallback
        : v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean()
        : throw Fail($"key \"{key}\" is {v.ValueKind}, expected true or false");

    public string? String(string key) =>
        !Element.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind == JsonValueKind.String ? v.GetString()
        : throw Fail($"key \"{key}\" is {v.ValueKind}, expected a string");

    public int Int(string key, int fallback) =>
        !Element.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null ? fallback
        : v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i
        : throw Fail($"key \"{key}\" is {v.ValueKind}, expected an integer");

    /// <summary>A <c>{"String": …}</c> or <c>{"Regex": …}</c> pattern as a .NET regex (a string is escaped).</summary>
    public System.Text.RegularExpressions.Regex Pattern(string key)
    {
        var p = Child(key);
        if (p.Element.ValueKind == JsonValueKind.Object && p.Element.TryGetProperty("String", out var s) && s.ValueKind == JsonValueKind.String)
            return new(System.Text.RegularExpressions.Regex.Escape(s.GetString()!), System.Text.RegularExpressions.RegexOptions.CultureInvariant);
        if (p.Element.ValueKind == JsonValueKind.Object && p.Element.TryGetProperty("Regex", out var r) && r.ValueKind == JsonValueKind.String)
        {
            try { return new(r.GetString()!, System.Text.RegularExpressions.RegexOptions.CultureInvariant); }
            catch (ArgumentException e) { throw p.Fail($"holds a regex .NET cannot compile ({e.Message})"); }
        }
        throw p.Fail("is not {\"String\": …} or {\"Regex\": …}");
    }
}
