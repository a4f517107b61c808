using System.Globalization;
using System.Text;
using System.Text.Json;
using AttnEval.Abstractions;
using AttnEval.Core.Evaluation;
using CsvHelper;
using CsvHelper.Configuration;

namespace AttnEval.Core.Datasets;

/// <summary>
/// Reads the items of a <see cref="DatasetSpec"/> as <see cref="Sample"/>s (DESIGN.md §3, §6).
/// </summary>
/// <remarks>
/// <para><b>Formats.</b> <c>jsonl</c> (one JSON object per line; blank lines skipped), <c>json</c> (one top-level
/// array of objects) and <c>csv</c> (RFC 4180 with a header row; quoted fields may hold commas, quotes and newlines;
/// blank lines skipped). Files are read as UTF-8; a byte-order mark is ignored. When <see cref="DatasetSpec.Format"/>
/// is null the format comes from the extension (<c>.jsonl</c>/<c>.ndjson</c>, <c>.json</c>, <c>.csv</c>).</para>
/// <para><b>Fields.</b> <see cref="Sample.Fields"/> holds the whole record: JSON strings as <see cref="string"/>,
/// numbers as <see cref="double"/> (numbers outside the double range keep their text), booleans as <see cref="bool"/>,
/// null as null, arrays as <c>IReadOnlyList&lt;object?&gt;</c> and objects as
/// <c>IReadOnlyDictionary&lt;string, object?&gt;</c> (a repeated key keeps its last value). CSV fields are strings.
/// The input, target and id mappings are dotted paths (<c>answer.value</c>); a key that contains dots itself is
/// matched first. Input, target and id must be strings, numbers or booleans (numbers are written in invariant round-trip form, e.g. 17 → "17").</para>
/// <para><b>Ids.</b> The mapped id field when <see cref="DatasetSpec.Id"/> is set, else <c>{file-stem}-{n}</c> with n
/// the 1-based physical line where the record starts (JSONL, CSV: the header is line 1, so the first CSV record is
/// <c>-2</c>) or the 0-based array index (JSON). Ids never depend on limit or shuffle; duplicates are an error.</para>
/// <para><b>Order.</b> File order; with <see cref="DatasetSpec.Shuffle"/> all records are read and permuted by
/// Fisher–Yates driven by <see cref="SplitMix64"/> seeded with <see cref="DatasetSpec.Seed"/> (the same seed gives the
/// same order on every machine and .NET version); then the first <see cref="DatasetSpec.Limit"/> are kept.</para>
/// <para><b>Errors.</b> A missing file, an unknown format, a malformed record, a record that is not an object, a
/// missing or non-text mapped field, a CSV row with the wrong number of fields and a duplicate id throw
/// <see cref="DatasetException"/> naming the file, the line (and column where known) and what was expected.
/// Without shuffling, reading stops after <see cref="DatasetSpec.Limit"/> records, so later lines are not checked.</para>
/// </remarks>
public static class DatasetReader
{
    /// <summary>Reads the samples the spec selects.</summary>
    /// <returns>Samples in file order, or in seeded shuffled order; at most <see cref="DatasetSpec.Limit"/>.</returns>
    /// <exception cref="DatasetException">The file is missing or malformed (see the type's remarks).</exception>
    /// <exception cref="ArgumentException"><see cref="DatasetSpec.Limit"/> is below 1 or the path is empty.</exception>
    public static IReadOnlyList<Sample> Read(DatasetSpec spec) => Enumerate(spec).ToList();

    /// <summary>
    /// Streams the samples the spec selects. Without shuffling, records are parsed lazily and reading stops after
    /// <see cref="DatasetSpec.Limit"/>; with shuffling, the whole file is read at the first iteration.
    /// </summary>
    /// <exception cref="DatasetException">Thrown during iteration for a malformed file or record.</exception>
    /// <exception cref="ArgumentException">Thrown at once when <see cref="DatasetSpec.Limit"/> is below 1 or the path is empty.</exception>
    public static IEnumerable<Sample> Enumerate(DatasetSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (string.IsNullOrWhiteSpace(spec.Path)) throw new ArgumentException("dataset.path is empty", nameof(spec));
        if (spec.Limit is < 1) throw new ArgumentException($"dataset.limit must be ≥ 1 (got {spec.Limit})", nameof(spec));
        return Iterate(spec);

        static IEnumerable<Sample> Iterate(DatasetSpec spec)
        {
            var samples = ReadMapped(spec);
            if (spec.Shuffle)
            {
                var all = samples.ToList();
                new SplitMix64(spec.Seed).Shuffle(all);
                samples = all;
            }
            return spec.Limit is { } limit ? samples.Take(limit) : samples;
        }
    }

    /// <summary>The format the reader will use: <see cref="DatasetSpec.Format"/> (lower-cased) or one inferred from the extension.</summary>
    /// <exception cref="DatasetException">The format is unknown or cannot be inferred.</exception>
    public static string ResolveFormat(DatasetSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var format = spec.Format?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(format))
        {
            format = Path.GetExtension(spec.Path).ToLowerInvariant() switch
            {
                ".jsonl" or ".ndjson" => "jsonl",
                ".json" => "json",
                ".csv" => "csv",
                var ext => throw new DatasetException(spec.Path, null, null,
                    $"cannot tell the format from the extension '{ext}' (expected .jsonl, .json or .csv, or set dataset.format)"),
            };
        }
        return format is "jsonl" or "json" or "csv" ? format
            : throw new DatasetException(spec.Path, null, null, $"unknown dataset format '{spec.Format}' (expected jsonl, json or csv)");
    }

    // ------------------------------------------------------------------ mapping

    /// <summary>A parsed record before mapping: its fields, the line where it starts and its position.</summary>
    private sealed record RawRecord(IReadOnlyDictionary<string, object?> Fields, int Line, int Index);

    private static IEnumerable<Sample> ReadMapped(DatasetSpec spec)
    {
        var format = ResolveFormat(spec);
        if (!File.Exists(spec.Path)) throw new DatasetException(spec.Path, null, null, "file not found (dataset.path)");
        var stem = Path.GetFileNameWithoutExtension(spec.Path);
        var records = format switch
        {
            "jsonl" => ReadJsonLines(spec.Path),
            "json" => ReadJsonArray(spec.Path),
            _ => ReadCsv(spec.Path),
        };
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var r in records)
        {
            var input = Text(spec, r, spec.Input, "input", required: true)!;
            var target = spec.Target is null ? null : Text(spec, r, spec.Target, "target", required: false);
            var id = spec.Id is null
                ? $"{stem}-{(format == "json" ? r.Index : r.Line)}"
                : Text(spec, r, spec.Id, "id", required: true)!;
            if (!seen.TryAdd(id, r.Line))
                throw new DatasetException(spec.Path, r.Line, null, $"duplicate sample id '{id}' (first seen at line {seen[id]}); ids must be unique so a run can resume");
            yield return new Sample(id, input, target, r.Fields);
        }
    }

    /// <summary>Looks a field up by exact key, then by dotted path; returns (found, value).</summary>
    internal static (bool Found, object? Value) Lookup(IReadOnlyDictionary<string, object?> fields, string path)
    {
        if (fields.TryGetValue(path, out var direct)) return (true, direct);
        object? cur = fields;
        foreach (var part in path.Split('.'))
        {
            if (cur is IReadOnlyDictionary<string, object?> d && d.TryGetValue(part, out var next)) cur = next;
            else return (false, null);
        }
        return (true, cur);
    }

    private static string? Text(DatasetSpec spec, RawRecord r, string path, string role, bool required)
    {
        var (found, value) = Lookup(r.Fields, path);
        if (!found)
            throw new DatasetException(spec.Path, r.Line, null, $"missing {role} field '{path}' (dataset.{role}); the record has: {string.Join(", ", r.Fields.Keys)}");
        return value switch
        {
            null when required => throw new DatasetException(spec.Path, r.Line, null, $"{role} field '{path}' is null (expected text)"),
            null => null,
            string s => s,
            double d => d.ToString("R", CultureInfo.InvariantCulture),
            bool b => b ? "true" : "false",
            _ => throw new DatasetException(spec.Path, r.Line, null,
                $"{role} field '{path}' is {(value is IReadOnlyDictionary<string, object?> ? "an object" : "a list")} (expected text, a number or a boolean)"),
        };
    }

    // ------------------------------------------------------------------ JSONL

    private static IEnumerable<RawRecord> ReadJsonLines(string path)
    {
        using var reader = new StreamReader(path, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: true);
        var lineNo = 0;
        var index = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            IReadOnlyDictionary<string, object?> fields;
            try
            {
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                    throw new DatasetException(path, lineNo, null, $"expected a JSON object, found {Describe(doc.RootElement.ValueKind)}");
                fields = ToDictionary(doc.RootElement);
            }
            catch (JsonException ex)
            {
                var bytePos = (int)(ex.BytePositionInLine ?? 0);
                var column = CharColumn(Encoding.UTF8.GetBytes(line), 0, bytePos);
                throw new DatasetException(path, lineNo, column, $"invalid JSON ({CleanJsonMessage(ex)} at column {column})", ex);
            }
            yield return new RawRecord(fields, lineNo, index++);
        }
    }

    // ------------------------------------------------------------------ JSON array

    private static IEnumerable<RawRecord> ReadJsonArray(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var offset = bytes.AsSpan().StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? 3 : 0;
        return ParseJsonArray(path, bytes, offset);
    }

    private static List<RawRecord> ParseJsonArray(string path, byte[] bytes, int offset)
    {
        var data = bytes.AsSpan(offset);
        if (data.Trim(" \t\r\n"u8).IsEmpty) throw new DatasetException(path, null, null, "the file is empty (expected a JSON array of objects)");
        var result = new List<RawRecord>();
        var reader = new Utf8JsonReader(data, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        var lineCounter = new LineCounter(bytes, offset);
        try
        {
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartArray)
                throw new DatasetException(path, lineCounter.LineAt(reader.TokenStartIndex), null,
                    $"expected a JSON array of objects at the top level, found {reader.TokenType}");
            var index = 0;
            while (true)
            {
                if (!reader.Read()) throw new JsonException("unexpected end of data (expected ']')");
                if (reader.TokenType == JsonTokenType.EndArray) break;
                var line = lineCounter.LineAt(reader.TokenStartIndex);
                using var doc = JsonDocument.ParseValue(ref reader);
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                    throw new DatasetException(path, line, null, $"array element {index}: expected a JSON object, found {Describe(doc.RootElement.ValueKind)}");
                result.Add(new RawRecord(ToDictionary(doc.RootElement), line, index++));
            }
            if (reader.Read()) throw new DatasetException(path, lineCounter.LineAt(reader.TokenStartIndex), null, "unexpected content after the top-level array");
        }
        catch (JsonException ex)
        {
            int? line = ex.LineNumber is { } l ? (int)l + 1 : null;
            int? column = null;
            if (line is { } ln && ex.BytePositionInLine is { } bp)
            {
                var start = lineCounter.OffsetOfLine(ln);
                column = CharColumn(bytes, start, (int)bp);
            }
            var where = column is null ? "" : $" at column {column}";
            throw new DatasetException(path, line, column, $"invalid JSON ({CleanJsonMessage(ex)}{where})", ex);
        }
        return result;
    }

    /// <summary>Maps byte offsets (relative to the data start) to 1-based lines, and lines to absolute byte offsets.</summary>
    private sealed class LineCounter(byte[] bytes, int dataStart)
    {
        public int LineAt(long relativeOffset)
        {
            var line = 1;
            var end = dataStart + relativeOffset;
            for (var i = dataStart; i < end && i < bytes.Length; i++) if (bytes[i] == (byte)'\n') line++;
            return line;
        }

        public int OffsetOfLine(int line)
        {
            var current = 1;
            for (var i = dataStart; i < bytes.Length && current < line; i++)
                if (bytes[i] == (byte)'\n') { current++; if (current == line) return i + 1; }
            return dataStart;
        }
    }

    // ------------------------------------------------------------------ CSV

    private static IEnumerable<RawRecord> ReadCsv(string path)
    {
        var config = new CsvConfiguration(CultureInfo.InvariantCulture)
        {
            HasHeaderRecord = true,
            IgnoreBlankLines = true,
            BadDataFound = args => throw new DatasetException(path, args.Context.Parser?.RawRow, null,
                $"malformed CSV field (a quote inside an unquoted field, or an unterminated quoted field): {Shorten(args.RawRecord)}"),
        };
        using var reader = new StreamReader(path, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: true);
        using var parser = new CsvParser(reader, config);
        if (!parser.Read()) throw new DatasetException(path, null, null, "the file is empty (expected a header row)");
        var header = parser.Record ?? [];
        for (var i = 0; i < header.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(header[i])) throw new DatasetException(path, 1, null, $"header column {i + 1} has no name");
            if (Array.IndexOf(header, header[i]) != i) throw new DatasetException(path, 1, null, $"header column '{header[i]}' appears twice");
        }
        var index = 0;
        while (parser.Read())
        {
            var record = parser.Record ?? [];
            var line = StartLine(parser);
            if (record.Length != header.Length)
                throw new DatasetException(path, line, null, $"expected {header.Length} fields as in the header, found {record.Length}");
            var fields = new Dictionary<string, object?>(StringComparer.Ordinal);
            for (var i = 0; i < header.Length; i++) fields[header[i]] = record[i];
            yield return new RawRecord(fields, line, index++);
        }
    }

    /// <summary>The 1-based line where the current CSV record starts: the parser's line count at its end minus the
    /// line breaks inside the record (quoted newlines).</summary>
    private static int StartLine(CsvParser parser)
    {
        var raw = parser.RawRecord.AsSpan().TrimEnd("\r\n");
        var inner = 0;
        for (var i = 0; i < raw.Length; i++)
        {
            if (raw[i] == '\n') inner++;
            else if (raw[i] == '\r' && (i + 1 >= raw.Length || raw[i + 1] != '\n')) inner++;
        }
        return parser.RawRow - inner;
    }

    // ------------------------------------------------------------------ helpers

    private static Dictionary<string, object?> ToDictionary(JsonElement obj)
    {
        var d = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var p in obj.EnumerateObject()) d[p.Name] = Convert(p.Value);
        return d;
    }

    private static object? Convert(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => e.TryGetDouble(out var d) && double.IsFinite(d) ? d : e.GetRawText(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Null => null,
        JsonValueKind.Array => e.EnumerateArray().Select(Convert).ToList(),
        JsonValueKind.Object => ToDictionary(e),
        _ => null,
    };

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => kind.ToString(),
    };

    /// <summary>1-based character column of a byte position within the line starting at <paramref name="lineStart"/>.</summary>
    private static int CharColumn(byte[] bytes, int lineStart, int bytePos)
    {
        var len = Math.Clamp(bytePos, 0, Math.Max(0, bytes.Length - lineStart));
        try { return Encoding.UTF8.GetCharCount(bytes, lineStart, len) + 1; }
        catch (ArgumentException) { return bytePos + 1; }
    }

    /// <summary>System.Text.Json's message without its own 0-based location suffix and final period.</summary>
    private static string CleanJsonMessage(JsonException ex)
    {
        var msg = ex.Message;
        var at = msg.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (at < 0) at = msg.IndexOf(" Path:", StringComparison.Ordinal);
        if (at >= 0) msg = msg[..at];
        return msg.Trim().TrimEnd('.');
    }

    private static string Shorten(string s)
    {
        s = s.ReplaceLineEndings(" ").Trim();
        return s.Length <= 60 ? s : s[..57] + "...";
    }
}
