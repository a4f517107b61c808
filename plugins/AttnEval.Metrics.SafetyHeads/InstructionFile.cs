using System.Globalization;
using System.Text.Json;
using AttnEval.Abstractions;
using AttnEval.Plugins.Sdk;
using CsvHelper;

namespace AttnEval.Metrics.SafetyHeads;

/// <summary>Reads instruction records (the benign prompts of the causal check) from <c>.jsonl</c>, <c>.json</c> (an array of
/// objects, as the refusal_direction splits) or <c>.csv</c> with a header row (as AdvBench/JBB).</summary>
internal static class InstructionFile
{
    /// <summary>Reads up to <paramref name="limit"/> records as samples with ids <c>benign-{index}</c>.</summary>
    /// <param name="path">The file.</param>
    /// <param name="inputField">Field holding the instruction (becomes <see cref="Sample.Input"/>).</param>
    /// <param name="targetField">Field holding the expected answer, or null.</param>
    /// <param name="limit">First N records; 0 = all.</param>
    /// <exception cref="InvalidDataException">Missing file, unknown extension, malformed record or missing field; the message
    /// names the file, the record (line for .jsonl and .csv, index for .json) and what was expected.</exception>
    public static IReadOnlyList<Sample> Read(string path, string inputField, string? targetField, int limit)
    {
        if (!File.Exists(path)) throw new InvalidDataException($"{path}: benign instruction file not found (option benign_path)");
        var ext = Path.GetExtension(path).ToLowerInvariant();
        var records = ext switch
        {
            ".jsonl" => ReadJsonl(path),
            ".json" => ReadJsonArray(path),
            ".csv" => ReadCsv(path),
            _ => throw new InvalidDataException($"{path}: expected a .jsonl, .json or .csv file of instructions"),
        };
        var samples = new List<Sample>();
        foreach (var (where, fields) in records)
        {
            if (limit > 0 && samples.Count >= limit) break;
            var input = fields.TryGetValue(inputField, out var v) && v is string s && s.Length > 0 ? s
                : throw new InvalidDataException($"{path}:{where}: expected a non-empty string field '{inputField}' (option benign_input)");
            string? target = null;
            if (targetField is not null)
                target = fields.TryGetValue(targetField, out var t) && t is not null ? Convert.ToString(t, CultureInfo.InvariantCulture)
                    : throw new InvalidDataException($"{path}:{where}: expected a field '{targetField}' (option benign_target)");
            samples.Add(new Sample($"benign-{samples.Count}", input, target, fields));
        }
        return samples;
    }

    private static IEnumerable<(string Where, Dictionary<string, object?> Fields)> ReadJsonl(string path) =>
        Jsonl.Enumerate(path, (e, line) => ($"{line}", Fields(e, path, $"{line}")),
            (line, x) => $"{path}:{line}: expected one JSON object per line ({x.Message})");

    private static IEnumerable<(string Where, Dictionary<string, object?> Fields)> ReadJsonArray(string path)
    {
        JsonElement root;
        try { root = JsonDocument.Parse(File.ReadAllText(path)).RootElement; }
        catch (JsonException x) { throw new InvalidDataException($"{path}: expected a JSON array of objects ({x.Message})", x); }
        if (root.ValueKind != JsonValueKind.Array) throw new InvalidDataException($"{path}: expected a JSON array of objects, found {root.ValueKind}");
        int i = 0;
        foreach (var e in root.EnumerateArray())
        {
            yield return ($"[{i}]", Fields(e, path, $"[{i}]"));
            i++;
        }
    }

    private static IEnumerable<(string Where, Dictionary<string, object?> Fields)> ReadCsv(string path)
    {
        using var reader = new StreamReader(path);
        using var csv = new CsvReader(reader, CultureInfo.InvariantCulture);
        if (!csv.Read() || !csv.ReadHeader()) throw new InvalidDataException($"{path}:1: expected a CSV header row");
        var header = csv.HeaderRecord ?? [];
        while (csv.Read())
        {
            var fields = new Dictionary<string, object?>(StringComparer.Ordinal);
            for (int c = 0; c < header.Length; c++) fields[header[c]] = csv.GetField(c);
            yield return ($"{csv.Parser.RawRow}", fields);
        }
    }

    private static Dictionary<string, object?> Fields(JsonElement e, string path, string where)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}:{where}: expected a JSON object, found {e.ValueKind}");
        var d = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var p in e.EnumerateObject())
            d[p.Name] = p.Value.ValueKind switch
            {
                JsonValueKind.String => p.Value.GetString(),
                JsonValueKind.Number => p.Value.GetDouble(),
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                JsonValueKind.Null => null,
                _ => p.Value.GetRawText(),
            };
        return d;
    }
}
