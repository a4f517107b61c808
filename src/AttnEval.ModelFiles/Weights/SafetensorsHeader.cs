using System.Buffers.Binary;
using System.Text.Json;
using AttnEval.Abstractions;

namespace AttnEval.ModelFiles.Weights;

/// <summary>One tensor entry of a safetensors header.</summary>
/// <param name="Name">Tensor name.</param>
/// <param name="DType">safetensors dtype (<c>F32</c>, <c>F16</c>, <c>BF16</c>).</param>
/// <param name="Shape">Dimensions.</param>
/// <param name="Begin">First byte, from the start of the file (after the header).</param>
/// <param name="End">One past the last byte, from the start of the file.</param>
public sealed record SafetensorsEntry(string Name, string DType, int[] Shape, long Begin, long End)
{
    /// <summary>Number of elements.</summary>
    public long Count => Shape.Aggregate(1L, (a, x) => a * x);

    /// <summary>Bytes per element.</summary>
    public int Width => DType == "F32" ? 4 : 2;
}

/// <summary>
/// The header of a safetensors file, read and checked without touching the tensor data: u64 little-endian length N,
/// N bytes of JSON (<c>name → {dtype, shape, data_offsets}</c>), then the data. Every fault is one
/// <see cref="ModelLoadException"/> naming the file and the tensor: a header length larger than the file, a dtype
/// other than F32/F16/BF16, offsets that do not match the shape, a tensor that ends past the end of the file, and two
/// tensors whose byte ranges overlap.
/// </summary>
public sealed class SafetensorsHeader
{
    private SafetensorsHeader(string path, long fileLength, IReadOnlyList<SafetensorsEntry> entries)
    {
        Path = path;
        FileLength = fileLength;
        Entries = entries;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>File size in bytes.</summary>
    public long FileLength { get; }

    /// <summary>The tensors, in file order (by begin offset).</summary>
    public IReadOnlyList<SafetensorsEntry> Entries { get; }

    /// <summary>Reads and checks the header of <paramref name="path"/>.</summary>
    /// <exception cref="ModelLoadException">The file is missing, truncated or inconsistent; the message names the file and tensor.</exception>
    public static SafetensorsHeader Read(string path)
    {
        if (!File.Exists(path)) throw new ModelLoadException($"{path}: weight file not found.");
        using var s = File.OpenRead(path);
        long fileLength = s.Length;
        Span<byte> lenBytes = stackalloc byte[8];
        if (s.Read(lenBytes) != 8) throw new ModelLoadException($"{path}: truncated safetensors file ({fileLength} bytes; expected an 8-byte header length first).");
        long headerLen = BinaryPrimitives.ReadInt64LittleEndian(lenBytes);
        if (headerLen <= 0 || headerLen > fileLength - 8)
            throw new ModelLoadException($"{path}: safetensors header length {headerLen} is larger than the file ({fileLength} bytes): a truncated or corrupt file.");
        if (headerLen > 100_000_000)
            throw new ModelLoadException($"{path}: safetensors header length {headerLen} exceeds 100 MB (the format's limit).");
        var header = new byte[headerLen];
        s.ReadExactly(header);
        long dataStart = 8 + headerLen, dataLength = fileLength - dataStart;
        var entries = new List<SafetensorsEntry>();
        try
        {
            using var doc = JsonDocument.Parse(header);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new ModelLoadException($"{path}: safetensors header is not a JSON object.");
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Name == "__metadata__") continue;
                string Where() => $"{path}: tensor '{p.Name}'";
                if (p.Value.ValueKind != JsonValueKind.Object
                    || !p.Value.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String
                    || !p.Value.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array
                    || !p.Value.TryGetProperty("data_offsets", out var of) || of.ValueKind != JsonValueKind.Array || of.GetArrayLength() != 2)
                    throw new ModelLoadException($"{Where()}: header entry lacks dtype, shape or a two-element data_offsets.");
                var dtype = dt.GetString()!;
                if (dtype is not ("F32" or "F16" or "BF16"))
                    throw new ModelLoadException($"{Where()} has dtype {dtype}, expected F32, F16 or BF16.");
                var shape = sh.EnumerateArray().Select(e => e.TryGetInt32(out var d) && d >= 0 ? d : throw new ModelLoadException($"{Where()}: shape holds {e}, expected non-negative integers.")).ToArray();
                long begin = of[0].GetInt64(), end = of[1].GetInt64();
                var entry = new SafetensorsEntry(p.Name, dtype, shape, dataStart + begin, dataStart + end);
                if (begin < 0 || end < begin || end - begin != entry.Count * entry.Width)
                    throw new ModelLoadException($"{Where()}: data_offsets [{begin}, {end}] do not hold shape [{string.Join(", ", shape)}] × {entry.Width} bytes ({entry.Count * entry.Width}).");
                if (end > dataLength)
                    throw new ModelLoadException($"{Where()} ends at data byte {end}, past the end of the file ({dataLength} bytes of data): a truncated file.");
                entries.Add(entry);
            }
        }
        catch (JsonException e) { throw new ModelLoadException($"{path}: safetensors header is not valid JSON ({e.Message}).", e); }
        catch (InvalidOperationException e) { throw new ModelLoadException($"{path}: safetensors header has a value of the wrong type ({e.Message}).", e); }
        catch (FormatException e) { throw new ModelLoadException($"{path}: safetensors header has a number out of range ({e.Message}).", e); }
        entries.Sort((a, b) => a.Begin.CompareTo(b.Begin));
        for (int i = 1; i < entries.Count; i++)
            if (entries[i].Begin < entries[i - 1].End && entries[i].End > entries[i].Begin)
                throw new ModelLoadException($"{path}: tensors '{entries[i - 1].Name}' (bytes {entries[i - 1].Begin - dataStart}–{entries[i - 1].End - dataStart}) and '{entries[i].Name}' (bytes {entries[i].Begin - dataStart}–{entries[i].End - dataStart}) overlap.");
        return new SafetensorsHeader(path, fileLength, entries);
    }

    /// <summary>The checked headers of a model folder's weights (<c>model.safetensors</c>, or every shard of the index), with
    /// the index itself checked: each tensor it maps must be in the shard it names.</summary>
    /// <exception cref="ModelLoadException">No weights, a missing shard, a tensor missing from its shard, or a faulty header.</exception>
    public static IReadOnlyList<SafetensorsHeader> ReadFolder(string dir)
    {
        var single = System.IO.Path.Combine(dir, "model.safetensors");
        if (File.Exists(single)) return [Read(single)];
        var index = System.IO.Path.Combine(dir, "model.safetensors.index.json");
        if (!File.Exists(index)) throw new ModelLoadException($"{dir}: no model.safetensors or model.safetensors.index.json (expected Hugging Face safetensors weights).");
        if (ConfigReader.Open(index).Element("weight_map") is not { ValueKind: JsonValueKind.Object } map)
            throw new ModelLoadException($"{index}: missing object 'weight_map' (expected tensor name → shard file).");
        var byShard = map.EnumerateObject()
            .GroupBy(p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : throw new ModelLoadException($"{index}: weight_map entry '{p.Name}' is not a file name."))
            .OrderBy(g => g.Key, StringComparer.Ordinal);
        var headers = new List<SafetensorsHeader>();
        foreach (var shard in byShard)
        {
            var file = System.IO.Path.Combine(dir, shard.Key);
            if (!File.Exists(file)) throw new ModelLoadException($"{index}: shard '{shard.Key}' is listed in weight_map but missing.");
            var header = Read(file);
            var names = header.Entries.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var p in shard)
                if (!names.Contains(p.Name))
                    throw new ModelLoadException($"{index}: tensor '{p.Name}' is mapped to shard '{shard.Key}', which does not hold it.");
            headers.Add(header);
        }
        return headers;
    }
}
