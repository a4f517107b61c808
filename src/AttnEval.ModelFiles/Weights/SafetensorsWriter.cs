using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;

namespace AttnEval.ModelFiles.Weights;

/// <summary>One tensor to write: its name, safetensors dtype (<c>F32</c>, <c>F16</c> or <c>BF16</c>), shape, and a
/// function that fills consecutive elements (given the index of the first) as float32 values.</summary>
/// <param name="Name">Tensor name.</param>
/// <param name="DType"><c>F32</c>, <c>F16</c> or <c>BF16</c>.</param>
/// <param name="Shape">Dimensions.</param>
/// <param name="Fill">Writes the values of elements [first, first + span.Length) into the span.</param>
public sealed record SafetensorsTensor(string Name, string DType, int[] Shape, Action<long, Span<float>> Fill)
{
    /// <summary>Number of elements.</summary>
    public long Count => Shape.Aggregate(1L, (a, x) => a * x);

    /// <summary>Bytes per element.</summary>
    public int Width => DType == "F32" ? 4 : DType is "F16" or "BF16" ? 2 : throw new ArgumentException($"dtype {DType} is not F32, F16 or BF16");
}

/// <summary>Writes a safetensors file tensor by tensor through a fixed-size buffer, so a checkpoint of any size is
/// written with constant memory (test and benchmark checkpoints with real model shapes). BF16 is rounded to nearest even
/// from float32, F16 through <see cref="Half"/>.</summary>
public static class SafetensorsWriter
{
    /// <summary>Writes <paramref name="tensors"/> to <paramref name="path"/> in the given order.</summary>
    /// <exception cref="ArgumentException">A dtype other than F32, F16 or BF16.</exception>
    public static void Write(string path, IReadOnlyList<SafetensorsTensor> tensors)
    {
        var header = new JsonObject();
        long offset = 0;
        foreach (var t in tensors)
        {
            long bytes = t.Count * t.Width;
            header[t.Name] = new JsonObject
            {
                ["dtype"] = t.DType,
                ["shape"] = new JsonArray(t.Shape.Select(d => (JsonNode?)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            offset += bytes;
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int pad = (8 - json.Length % 8) % 8;   // the data starts 8-byte aligned, as the reference writer does
        using var s = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(len, json.Length + pad);
        s.Write(len);
        s.Write(json);
        for (int i = 0; i < pad; i++) s.WriteByte((byte)' ');
        const int chunk = 1 << 20;
        var values = new float[chunk];
        var raw = new byte[chunk * 4];
        foreach (var t in tensors)
        {
            for (long first = 0; first < t.Count; first += chunk)
            {
                int n = (int)Math.Min(chunk, t.Count - first);
                var v = values.AsSpan(0, n);
                t.Fill(first, v);
                for (int i = 0; i < n; i++)
                {
                    switch (t.DType)
                    {
                        case "F32": BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * 4), v[i]); break;
                        case "F16": BinaryPrimitives.WriteHalfLittleEndian(raw.AsSpan(i * 2), (Half)v[i]); break;
                        default:
                            uint bits = BitConverter.SingleToUInt32Bits(v[i]);
                            bits += 0x7FFF + ((bits >> 16) & 1);   // round to nearest even
                            BinaryPrimitives.WriteUInt16LittleEndian(raw.AsSpan(i * 2), (ushort)(bits >> 16));
                            break;
                    }
                }
                s.Write(raw, 0, n * t.Width);
            }
        }
    }
}
