using Google.Protobuf;
using Onnx;

namespace AttnEval.Onnx.Export;

/// <summary>
/// Small helper over the ONNX protobuf messages (OnnxSharp's generated <see cref="GraphProto"/> etc.): adds nodes with
/// fresh output names, initializers (float32 or float16 storage) and typed graph inputs/outputs. Opset 17 of the default
/// domain; no contrib ops, so any ONNX Runtime build (and any ONNX consumer) can run the graph.
/// </summary>
internal sealed class GraphBuilder
{
    public const int Opset = 17;
    private int _next;

    public GraphProto Graph { get; } = new() { Name = "attneval_decoder" };

    /// <summary>Store float initializers as float16 (then cast to float32 inside the graph).</summary>
    public bool Float16Weights { get; init; }

    /// <summary>Adds a node and returns its output name (<paramref name="output"/>, or a fresh one).</summary>
    public string Op(string opType, IEnumerable<string> inputs, string? output = null, params AttributeProto[] attributes) =>
        Node(opType, inputs, [output ?? $"{opType.ToLowerInvariant()}_{_next++}"], attributes)[0];

    public string Op(string opType, params string[] inputs) => Op(opType, inputs, null);

    /// <summary>Adds a node with several fresh outputs.</summary>
    public string[] OpMulti(string opType, IEnumerable<string> inputs, int outputs, params AttributeProto[] attributes) =>
        Node(opType, inputs, Enumerable.Range(0, outputs).Select(i => $"{opType.ToLowerInvariant()}_{_next++}_{i}").ToArray(), attributes);

    private string[] Node(string opType, IEnumerable<string> inputs, string[] outputs, AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = $"n{_next++}_{opType}" };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return outputs;
    }

    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };
    public static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };
    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    /// <summary>A weight initializer, <c>float32</c> in the graph (stored as float16 when <see cref="Float16Weights"/>).</summary>
    public string Weight(string name, float[] data, params long[] dims)
    {
        if (!Float16Weights) return Initializer(name, TensorProto.Types.DataType.Float, dims, FloatBytes(data));
        var half = new byte[data.Length * 2];
        for (int i = 0; i < data.Length; i++) BitConverter.TryWriteBytes(half.AsSpan(i * 2), (Half)data[i]);
        var stored = Initializer(name + "_fp16", TensorProto.Types.DataType.Float16, dims, half);
        return Op("Cast", [stored], name, Int("to", (long)TensorProto.Types.DataType.Float));
    }

    /// <summary>A float32 constant (never converted to float16: RoPE frequencies, scales).</summary>
    public string ConstFloat(string name, float[] data, params long[] dims) => Initializer(name, TensorProto.Types.DataType.Float, dims, FloatBytes(data));

    /// <summary>An int64 constant.</summary>
    public string ConstInt64(string name, long[] data, params long[] dims)
    {
        var bytes = new byte[data.Length * 8];
        Buffer.BlockCopy(data, 0, bytes, 0, bytes.Length);
        return Initializer(name, TensorProto.Types.DataType.Int64, dims, bytes);
    }

    public string Initializer(string name, TensorProto.Types.DataType type, long[] dims, byte[] raw)
    {
        var t = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(raw) };
        t.Dims.AddRange(dims);
        Graph.Initializer.Add(t);
        return name;
    }

    /// <summary>A graph input; <paramref name="dims"/> are ints (fixed) or strings (symbolic).</summary>
    public string Input(string name, TensorProto.Types.DataType type, params object[] dims)
    {
        Graph.Input.Add(ValueInfo(name, type, dims));
        return name;
    }

    /// <summary>Declares <paramref name="value"/> as a graph output named <paramref name="name"/> (through Identity when the names differ).</summary>
    public void Output(string value, string name, TensorProto.Types.DataType type, params object[] dims)
    {
        if (value != name) Op("Identity", [value], name);
        Graph.Output.Add(ValueInfo(name, type, dims));
    }

    private static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType type, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d switch
            {
                string s => new TensorShapeProto.Types.Dimension { DimParam = s },
                int i => new TensorShapeProto.Types.Dimension { DimValue = i },
                long l => new TensorShapeProto.Types.Dimension { DimValue = l },
                _ => throw new ArgumentException($"dimension {d} is neither a name nor an integer."),
            });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } } };
    }

    private static byte[] FloatBytes(float[] data)
    {
        var bytes = new byte[data.Length * 4];
        Buffer.BlockCopy(data, 0, bytes, 0, bytes.Length);
        return bytes;
    }

    /// <summary>The model: IR version 8, opset <see cref="Opset"/>, producer metadata.</summary>
    public ModelProto Model(IReadOnlyDictionary<string, string> metadata)
    {
        var m = new ModelProto { IrVersion = 8, ProducerName = "attneval", ProducerVersion = typeof(GraphBuilder).Assembly.GetName().Version?.ToString() ?? "", Graph = Graph };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach (var (k, v) in metadata) m.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        return m;
    }
}
