using System.Text.RegularExpressions;
using AttnEval.Abstractions;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace AttnEval.Backends.Onnx;

/// <summary>How a graph stores its KV cache.</summary>
internal enum KvLayout
{
    /// <summary><c>past_key_values.{i}.key</c> / <c>.value</c> in, <c>present.{i}.key</c> / <c>.value</c> out, each <c>[B, Hkv, T, D]</c> (HF Optimum, AttnEval exports).</summary>
    Separate,
    /// <summary><c>past_{i}</c> in, <c>present_{i}</c> out, <c>[2, B, H, T, D]</c> (older ORT GPT-2 exports with the contrib Attention op).</summary>
    Stacked,
}

/// <summary>
/// The input/output contract of a decoder graph, read from the session's metadata: token, mask and position inputs
/// (int32 or int64), the KV cache (<see cref="KvLayout"/>, float32 or float16), <c>logits</c>, and the AttnEval extras —
/// attention probabilities <c>blocks.{l}.attn.hook_pattern</c> <c>[B, H, Tq, Tk]</c> float32 and the head-intervention
/// control inputs <c>q_scale</c>, <c>z_scale</c>, <c>uniform_flag</c> <c>[L, H]</c> and <c>z_bias</c> <c>[L, H, D]</c>
/// (specs/head-methods.md §0, backend note).
/// </summary>
internal sealed partial class DecoderGraph
{
    public const string InputIds = "input_ids", AttentionMask = "attention_mask", PositionIds = "position_ids", Logits = "logits";
    public const string QScale = "q_scale", ZScale = "z_scale", UniformFlag = "uniform_flag", ZBias = "z_bias";

    [GeneratedRegex(@"^past_key_values\.(\d+)\.key$")] private static partial Regex SeparatePast();
    [GeneratedRegex(@"^past_(\d+)$")] private static partial Regex StackedPast();
    [GeneratedRegex(@"^blocks\.(\d+)\.attn\.hook_pattern$")] private static partial Regex PatternOutput();

    public required string File { get; init; }
    public required KvLayout Layout { get; init; }
    public required int Layers { get; init; }
    /// <summary>KV heads from the cache shape, or −1 when symbolic.</summary>
    public required int KvHeads { get; init; }
    /// <summary>Head dimension from the cache shape, or −1 when symbolic.</summary>
    public required int HeadDim { get; init; }
    /// <summary>Vocabulary from the logits shape, or −1 when symbolic.</summary>
    public required int Vocab { get; init; }
    public required TensorElementType IdsType { get; init; }
    public TensorElementType? MaskType { get; init; }
    public TensorElementType? PositionType { get; init; }
    public required TensorElementType CacheType { get; init; }
    public required TensorElementType LogitsType { get; init; }
    /// <summary>Layers whose pattern is an output.</summary>
    public required IReadOnlySet<int> PatternLayers { get; init; }
    /// <summary>Control inputs present in the graph.</summary>
    public required IReadOnlySet<string> Controls { get; init; }

    public string PastName(int layer, bool value) => Layout == KvLayout.Separate ? $"past_key_values.{layer}.{(value ? "value" : "key")}" : $"past_{layer}";
    public string PresentName(int layer, bool value) => Layout == KvLayout.Separate ? $"present.{layer}.{(value ? "value" : "key")}" : $"present_{layer}";

    /// <summary>Reads the contract of <paramref name="session"/>.</summary>
    /// <exception cref="ModelLoadException">A required input or output is missing or has an unsupported type; the message names it.</exception>
    public static DecoderGraph Inspect(InferenceSession session, string file)
    {
        var ins = session.InputMetadata;
        var outs = session.OutputMetadata;
        string expected = "expected a decoder with inputs input_ids, attention_mask, position_ids, past_key_values.{i}.key/value (or past_{i}) and outputs logits, present.{i}.key/value (or present_{i})";
        if (!ins.TryGetValue(InputIds, out var ids)) throw new ModelLoadException($"{file}: no graph input '{InputIds}' ({expected}).");
        if (!outs.TryGetValue(Logits, out var logits)) throw new ModelLoadException($"{file}: no graph output '{Logits}' ({expected}).");
        var sep = ins.Keys.Select(k => SeparatePast().Match(k)).Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value)).ToList();
        var stk = ins.Keys.Select(k => StackedPast().Match(k)).Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value)).ToList();
        var layout = sep.Count > 0 ? KvLayout.Separate : stk.Count > 0 ? KvLayout.Stacked : throw new ModelLoadException($"{file}: no KV-cache inputs ({expected}).");
        int layers = Math.Max(sep.Count, stk.Count);
        var graph = new DecoderGraph
        {
            File = file, Layout = layout, Layers = layers, KvHeads = -1, HeadDim = -1, Vocab = -1,
            IdsType = ids.ElementDataType, CacheType = TensorElementType.Float, LogitsType = logits.ElementDataType,
            PatternLayers = new HashSet<int>(), Controls = new HashSet<string>(),
        };
        for (int l = 0; l < layers; l++)
            foreach (var v in layout == KvLayout.Separate ? new[] { false, true } : [false])
            {
                if (!ins.ContainsKey(graph.PastName(l, v))) throw new ModelLoadException($"{file}: graph input '{graph.PastName(l, v)}' is missing ({layers} layers found; {expected}).");
                if (!outs.ContainsKey(graph.PresentName(l, v))) throw new ModelLoadException($"{file}: graph output '{graph.PresentName(l, v)}' is missing ({expected}).");
            }
        var past0 = ins[graph.PastName(0, false)];
        var dims = past0.Dimensions;
        int off = layout == KvLayout.Stacked ? 1 : 0;
        if (dims.Length != 4 + off) throw new ModelLoadException($"{file}: '{graph.PastName(0, false)}' has rank {dims.Length}, expected {4 + off} ({(off == 1 ? "[2, batch, heads, past, head_dim]" : "[batch, kv_heads, past, head_dim]")}).");
        var types = new[] { TensorElementType.Int64, TensorElementType.Int32 };
        if (!types.Contains(ids.ElementDataType)) throw new ModelLoadException($"{file}: input_ids is {ids.ElementDataType}, expected int64 or int32.");
        if (past0.ElementDataType is not (TensorElementType.Float or TensorElementType.Float16)) throw new ModelLoadException($"{file}: the KV cache is {past0.ElementDataType}, expected float32 or float16.");
        if (logits.ElementDataType is not (TensorElementType.Float or TensorElementType.Float16)) throw new ModelLoadException($"{file}: logits are {logits.ElementDataType}, expected float32 or float16.");
        var patterns = outs.Keys.Select(k => PatternOutput().Match(k)).Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value)).ToHashSet();
        // Inputs with a default value (an initializer of the same name) are listed apart by ONNX Runtime.
        var overridable = session.OverridableInitializerMetadata;
        var controls = new[] { QScale, ZScale, UniformFlag, ZBias }.Where(c => ins.ContainsKey(c) || overridable.ContainsKey(c)).ToHashSet();
        return new DecoderGraph
        {
            File = file, Layout = layout, Layers = layers,
            KvHeads = dims[1 + off] > 0 ? dims[1 + off] : -1, HeadDim = dims[3 + off] > 0 ? dims[3 + off] : -1,
            Vocab = logits.Dimensions is { Length: 3 } ld && ld[2] > 0 ? ld[2] : -1,
            IdsType = ids.ElementDataType,
            MaskType = ins.TryGetValue(AttentionMask, out var m) ? m.ElementDataType : null,
            PositionType = ins.TryGetValue(PositionIds, out var p) ? p.ElementDataType : null,
            CacheType = past0.ElementDataType, LogitsType = logits.ElementDataType,
            PatternLayers = patterns, Controls = controls,
        };
    }

    /// <summary>True when every intervention control input is present.</summary>
    public bool HasInterventionInputs => Controls.Count == 4;
}
