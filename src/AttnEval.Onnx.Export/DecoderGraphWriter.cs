using AttnEval.Abstractions;
using AttnEval.ModelFiles.Weights;
using Onnx;
using static AttnEval.Onnx.Export.GraphBuilder;
using DT = Onnx.TensorProto.Types.DataType;

namespace AttnEval.Onnx.Export;

/// <summary>
/// Writes the decoder graph of a <see cref="DecoderSpec"/> from its weights (TransformerLens component names in comments).
/// Interface (HF Optimum names, framework-anchors §5.4, plus the AttnEval extras of specs/head-methods.md §0):
/// <list type="bullet">
/// <item>inputs <c>input_ids</c>, <c>position_ids</c> int64 <c>[batch, seq]</c>, <c>attention_mask</c> int64 <c>[batch, past+seq]</c>,
/// <c>past_key_values.{l}.key|value</c> float32 <c>[batch, kv_heads, past, head_dim]</c> (past may be 0);</item>
/// <item>control inputs with defaults (initializers of the same name, so they may be omitted): <c>q_scale</c>, <c>z_scale</c>
/// (ones) and <c>uniform_flag</c> (zeros) <c>[L, H]</c>, <c>z_bias</c> (zeros) <c>[L, H, head_dim]</c>. Per query head:
/// q ← q_scale·q after RoPE; pattern ← (1 − u)·pattern + u·U with U[i, j] = 1/(visible keys of i) (causal-uniform);
/// z ← z_scale·z + z_bias before W_O;</item>
/// <item>outputs <c>logits</c> float32 <c>[batch, seq, vocab]</c>, <c>present.{l}.key|value</c> <c>[batch, kv_heads, past+seq, head_dim]</c>,
/// and <c>blocks.{l}.attn.hook_pattern</c> float32 <c>[batch, heads, seq, past+seq]</c> for the chosen layers.</item>
/// </list>
/// Attention is eager (explicit softmax over q·kᵀ/√d_h with the causal and padding masks), computed in float32.
/// Key j is visible to query i when j ≤ position_ids[i] and attention_mask[j] = 1.
/// </summary>
internal sealed class DecoderGraphWriter
{
    private readonly DecoderSpec _s;
    private readonly IReadOnlyDictionary<string, WeightTensor> _w;
    private readonly GraphBuilder _g;
    private readonly IReadOnlySet<int> _patternLayers;
    private readonly string _prefix, _source;
    private readonly HashSet<string> _consumed = new(StringComparer.Ordinal);

    /// <summary>Faults that did not stop the export (a tied model whose file carries a different <c>lm_head.weight</c>).</summary>
    public List<string> Warnings { get; } = [];

    /// <param name="source">The checkpoint file or folder, named in error messages.</param>
    /// <param name="spec">Shapes and family.</param>
    /// <param name="weights">Float32 tensors under Hugging Face names.</param>
    /// <param name="float16">Store weights as float16.</param>
    /// <param name="patternLayers">Layers whose pattern becomes an output.</param>
    public DecoderGraphWriter(string source, DecoderSpec spec, IReadOnlyDictionary<string, WeightTensor> weights, bool float16, IReadOnlySet<int> patternLayers)
    {
        _source = source; _s = spec; _w = weights; _patternLayers = patternLayers;
        _g = new GraphBuilder { Float16Weights = float16 };
        _prefix = spec.IsGpt2 ? (weights.ContainsKey("transformer.wte.weight") ? "transformer." : "") : "model.";
    }

    public ModelProto Build(IReadOnlyDictionary<string, string> metadata)
    {
        var s = _s;
        int L = s.Layers, H = s.Heads, Hkv = s.KvHeads, D = s.HeadDim;
        var ids = _g.Input("input_ids", DT.Int64, "batch", "seq");
        var mask = _g.Input("attention_mask", DT.Int64, "batch", "total_seq");
        var positions = _g.Input("position_ids", DT.Int64, "batch", "seq");
        var pastK = new string[L]; var pastV = new string[L];
        for (int l = 0; l < L; l++)
        {
            pastK[l] = _g.Input($"past_key_values.{l}.key", DT.Float, "batch", Hkv, "past_seq", D);
            pastV[l] = _g.Input($"past_key_values.{l}.value", DT.Float, "batch", Hkv, "past_seq", D);
        }
        var qScale = ControlInput("q_scale", 1f, L, H);
        var zScale = ControlInput("z_scale", 1f, L, H);
        var uniformFlag = ControlInput("uniform_flag", 0f, L, H);
        var zBias = ControlInput("z_bias", 0f, L, H, D);

        // Masks: allowed[b, 0, i, j] = j ≤ position_ids[b, i] ∧ attention_mask[b, j] = 1; U = allowed / row count.
        var total = _g.Op("Gather", [_g.Op("Shape", mask), C64("idx1", [1])], null, Int("axis", 0));
        var keyPos = _g.Op("Range", C64("zero", [0]), total, C64("one", [1]));                                  // [Tk]
        var causal = _g.Op("LessOrEqual", keyPos, _g.Op("Unsqueeze", positions, Axes(2)));                    // [B, T, Tk]
        var padOk = _g.Op("Unsqueeze", _g.Op("Cast", [mask], null, Int("to", (long)DT.Bool)), Axes(1));        // [B, 1, Tk]
        var allowed = _g.Op("Unsqueeze", _g.Op("And", causal, padOk), Axes(1));                              // [B, 1, T, Tk]
        var allowedF = _g.Op("Cast", [allowed], null, Int("to", (long)DT.Float));
        var uniform = _g.Op("Div", allowedF, _g.Op("ReduceSum", [allowedF, Axes(-1)], null, Int("keepdims", 1)));
        var negInf = _g.ConstFloat("neg_inf", [float.NegativeInfinity]);
        var oneF = _g.ConstFloat("one_f", [1f]);
        var scale = _g.ConstFloat("attn_scale", [(float)(1.0 / Math.Sqrt(D))]);

        string h;
        string? cos = null, sin = null;
        if (s.IsGpt2)
        {
            h = _g.Op("Add", _g.Op("Gather", Weight("wte.weight"), ids), _g.Op("Gather", Weight("wpe.weight"), positions));   // hook_embed + hook_pos_embed
        }
        else
        {
            h = _g.Op("Gather", Weight("embed_tokens.weight"), ids);                                          // hook_embed
            var pos = _g.Op("Cast", [positions], null, Int("to", (long)DT.Float));
            if (s.PositionScale != 1) pos = _g.Op("Mul", pos, _g.ConstFloat("rope_position_scale", [(float)s.PositionScale]));
            var freqs = _g.Op("Mul", _g.Op("Unsqueeze", pos, Axes(2)), _g.ConstFloat("rope_inv_freq", s.InverseFrequencies(), D / 2));   // [B, T, D/2]
            var emb = _g.Op("Unsqueeze", _g.Op("Concat", [freqs, freqs], null, Int("axis", -1)), Axes(1));    // [B, 1, T, D]
            cos = _g.Op("Cos", emb); sin = _g.Op("Sin", emb);
        }

        for (int l = 0; l < L; l++)
        {
            string layer = s.IsGpt2 ? $"h.{l}." : $"layers.{l}.";
            var x = s.IsGpt2 ? LayerNorm(h, layer + "ln_1") : RmsNorm(h, layer + "input_layernorm.weight");  // ln1.hook_normalized
            string q, k, v;
            if (s.IsGpt2)
            {
                var qkv = _g.Op("Add", _g.Op("MatMul", x, Weight(layer + "attn.c_attn.weight")), Weight(layer + "attn.c_attn.bias"));
                var parts = _g.OpMulti("Split", [qkv, C64($"split_{l}", [s.HiddenSize, s.HiddenSize, s.HiddenSize])], 3, Int("axis", -1));
                (q, k, v) = (Heads(parts[0], H), Heads(parts[1], H), Heads(parts[2], H));
            }
            else
            {
                q = Heads(Linear(x, layer + "self_attn.q_proj", s.QkvBias), H);                               // hook_q  [B, H, T, D]
                k = Heads(Linear(x, layer + "self_attn.k_proj", s.QkvBias), Hkv);                             // hook_k  [B, Hkv, T, D]
                v = Heads(Linear(x, layer + "self_attn.v_proj", s.QkvBias), Hkv);                             // hook_v
                q = Rope(q, cos!, sin!, D); k = Rope(k, cos!, sin!, D);                                        // hook_rot_q, hook_rot_k
            }
            q = _g.Op("Mul", q, PerHead(qScale, l, $"qs_{l}", 1, H, 1, 1));                                    // q ← q_scale·q
            var kAll = _g.Op("Concat", [pastK[l], k], null, Int("axis", 2));                                   // [B, Hkv, Tk, D]
            var vAll = _g.Op("Concat", [pastV[l], v], null, Int("axis", 2));
            _g.Output(kAll, $"present.{l}.key", DT.Float, "batch", Hkv, "total_seq", D);
            _g.Output(vAll, $"present.{l}.value", DT.Float, "batch", Hkv, "total_seq", D);
            var kRep = RepeatKv(kAll, l, H, Hkv, D); var vRep = RepeatKv(vAll, l, H, Hkv, D);                 // [B, H, Tk, D]
            var scores = _g.Op("Mul", _g.Op("MatMul", q, _g.Op("Transpose", [kRep], null, Ints("perm", 0, 1, 3, 2))), scale);
            scores = _g.Op("Where", allowed, scores, negInf);                                                  // hook_attn_scores
            var pattern = _g.Op("Softmax", [scores], null, Int("axis", -1));
            var u = PerHead(uniformFlag, l, $"uf_{l}", 1, H, 1, 1);
            pattern = _g.Op("Add", _g.Op("Mul", pattern, _g.Op("Sub", oneF, u)), _g.Op("Mul", uniform, u));    // hook_pattern
            if (_patternLayers.Contains(l)) _g.Output(pattern, ActivationNames.Pattern(l), DT.Float, "batch", H, "seq", "total_seq");
            var z = _g.Op("MatMul", pattern, vRep);                                                            // hook_z  [B, H, T, D]
            z = _g.Op("Add", _g.Op("Mul", z, PerHead(zScale, l, $"zs_{l}", 1, H, 1, 1)), PerHead(zBias, l, $"zb_{l}", 1, H, 1, D));
            var merged = _g.Op("Reshape", _g.Op("Transpose", [z], null, Ints("perm", 0, 2, 1, 3)), C64($"merge_{l}", [0, 0, H * D]));
            var attnOut = s.IsGpt2
                ? _g.Op("Add", _g.Op("MatMul", merged, Weight(layer + "attn.c_proj.weight")), Weight(layer + "attn.c_proj.bias"))
                : Linear(merged, layer + "self_attn.o_proj", s.OBias);                                       // hook_attn_out
            h = _g.Op("Add", h, attnOut);                                                                      // hook_resid_mid
            string mlpOut;
            if (s.IsGpt2)
            {
                var x2 = LayerNorm(h, layer + "ln_2");
                var fc = _g.Op("Add", _g.Op("MatMul", x2, Weight(layer + "mlp.c_fc.weight")), Weight(layer + "mlp.c_fc.bias"));
                mlpOut = _g.Op("Add", _g.Op("MatMul", GeluNew(fc, l), Weight(layer + "mlp.c_proj.weight")), Weight(layer + "mlp.c_proj.bias"));
            }
            else
            {
                var x2 = RmsNorm(h, layer + "post_attention_layernorm.weight");
                var gate = Linear(x2, layer + "mlp.gate_proj", false);
                var act = _g.Op("Mul", _g.Op("Mul", gate, _g.Op("Sigmoid", gate)), Linear(x2, layer + "mlp.up_proj", false));   // SiLU(gate)·up
                mlpOut = Linear(act, layer + "mlp.down_proj", false);
            }
            h = _g.Op("Add", h, mlpOut);                                                                        // hook_resid_post
        }
        var final = s.IsGpt2 ? LayerNorm(h, "ln_f") : RmsNorm(h, "norm.weight");
        var embeddingKey = _prefix + (s.IsGpt2 ? "wte.weight" : "embed_tokens.weight");
        if (!s.TieWordEmbeddings && !_w.ContainsKey("lm_head.weight"))
            throw new ModelLoadException($"{_source}: config.json says tie_word_embeddings is false, but the checkpoint has no 'lm_head.weight' (expected [{s.VocabSize}, {s.HiddenSize}]); refusing to un-embed with '{embeddingKey}'.");
        string unembed = s.TieWordEmbeddings
            ? _g.Op("Transpose", [Weight(s.IsGpt2 ? "wte.weight" : "embed_tokens.weight")], null, Ints("perm", 1, 0))
            : WeightT("lm_head.weight");
        if (s.TieWordEmbeddings && _w.TryGetValue("lm_head.weight", out var head))
        {
            _consumed.Add("lm_head.weight");
            var emb = _w[embeddingKey];
            double diff = head.Data.Length != emb.Data.Length ? double.PositiveInfinity : head.Data.Zip(emb.Data).Max(p => Math.Abs((double)p.First - p.Second));
            if (diff > 0)
                Warnings.Add($"{_source}: config.json ties the output head to '{embeddingKey}' (tie_word_embeddings), but the checkpoint's lm_head.weight differs from it (max |Δ| = {diff:G3}); the embedding is used, as Hugging Face does — check tie_word_embeddings.");
        }
        _g.Output(_g.Op("MatMul", final, unembed), "logits", DT.Float, "batch", "seq", s.VocabSize);
        var unconsumed = _w.Keys.Where(k => !_consumed.Contains(k) && !Ignorable(k)).Order(StringComparer.Ordinal).ToList();
        if (unconsumed.Count > 0)
            throw new ModelLoadException($"{_source}: tensor '{unconsumed[0]}' is not consumed by a {s.ModelType} config" +
                (unconsumed.Count > 1 ? $" ({unconsumed.Count - 1} more)" : "") +
                " (config.json does not match the weights, e.g. attention_bias false with q/k/v biases present); refusing to drop it.");
        return _g.Model(metadata);
    }

    private string ControlInput(string name, float fill, params long[] dims)
    {
        long n = dims.Aggregate(1L, (a, x) => a * x);
        _g.ConstFloat(name, Enumerable.Repeat(fill, (int)n).ToArray(), dims);
        return _g.Input(name, DT.Float, dims.Cast<object>().ToArray());
    }

    /// <summary>Row <paramref name="layer"/> of a control tensor, reshaped to broadcast over <c>[B, H, T, ·]</c>.</summary>
    private string PerHead(string control, int layer, string name, params long[] shape) =>
        _g.Op("Reshape", _g.Op("Gather", [control, C64($"layer_{layer}", [layer], scalar: true)], null, Int("axis", 0)), C64(name + "_shape", shape));

    private string C64(string name, long[] values, bool scalar = false)
    {
        if (_g.Graph.Initializer.Any(i => i.Name == name)) return name;
        return scalar ? _g.ConstInt64(name, values) : _g.ConstInt64(name, values, values.Length);
    }

    private string Axes(params long[] axes) => C64("axes_" + string.Join("_", axes.Select(a => a < 0 ? $"m{-a}" : a.ToString())), axes);

    /// <summary>The weight <paramref name="key"/> (under the model prefix), stored as is.</summary>
    private string Weight(string key)
    {
        var full = _prefix + key;
        if (_g.Graph.Initializer.Any(i => i.Name == full || i.Name == full + "_fp16")) return full;
        var t = _w.TryGetValue(full, out var w) ? w : throw Missing(full);
        _consumed.Add(full);
        return _g.Weight(full, t.Data, t.Shape.Select(x => (long)x).ToArray());
    }

    /// <summary>A PyTorch Linear weight <c>[out, in]</c> stored transposed as <c>[in, out]</c> for MatMul.</summary>
    private string WeightT(string key)
    {
        var full = key.StartsWith("lm_head", StringComparison.Ordinal) ? key : _prefix + key;
        var t = _w.TryGetValue(full, out var w) ? w : throw Missing(full);
        _consumed.Add(full);
        int rows = t.Shape[0], cols = t.Shape[1];
        var tr = new float[t.Data.Length];
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) tr[c * rows + r] = t.Data[r * cols + c];
        return _g.Weight(full + ".T", tr, cols, rows);
    }

    /// <summary>Checkpoint entries no architecture consumes: RoPE's cached inverse frequencies and GPT-2's causal-mask buffers.</summary>
    private static bool Ignorable(string key) =>
        key.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal) || key.EndsWith(".attn.bias", StringComparison.Ordinal) || key.EndsWith(".attn.masked_bias", StringComparison.Ordinal);

    private ModelLoadException Missing(string key) =>
        new($"{_source}: weight '{key}' is missing from the checkpoint (expected for {_s.ModelType} with {_s.Layers} layers).");

    private string Linear(string x, string module, bool bias)
    {
        var y = _g.Op("MatMul", x, WeightT(module + ".weight"));
        return bias ? _g.Op("Add", y, Weight(module + ".bias")) : y;
    }

    /// <summary><c>[B, T, n·D]</c> → <c>[B, n, T, D]</c>.</summary>
    private string Heads(string x, int n) =>
        _g.Op("Transpose", [_g.Op("Reshape", x, C64($"heads_{n}", [0, 0, n, _s.HeadDim]))], null, Ints("perm", 0, 2, 1, 3));

    /// <summary>x·cos + rotate_half(x)·sin, rotate_half(x) = [−x₂, x₁] over the two halves of the head dimension.</summary>
    private string Rope(string x, string cos, string sin, int d)
    {
        var x1 = _g.Op("Slice", x, C64("zero1", [0]), C64("half", [d / 2]), C64("axis3", [3]));
        var x2 = _g.Op("Slice", x, C64("half", [d / 2]), C64("full", [d]), C64("axis3", [3]));
        var rotated = _g.Op("Concat", [_g.Op("Neg", x2), x1], null, Int("axis", 3));
        return _g.Op("Add", _g.Op("Mul", x, cos), _g.Op("Mul", rotated, sin));
    }

    /// <summary>GQA: KV head g serves query heads g·G … g·G+G−1 (G = H/Hkv): <c>[B, Hkv, Tk, D]</c> → <c>[B, H, Tk, D]</c>.</summary>
    private string RepeatKv(string kv, int layer, int h, int hkv, int d)
    {
        if (h == hkv) return kv;
        var expanded = _g.Op("Expand", _g.Op("Unsqueeze", kv, Axes(2)), C64("gqa_expand", [1, 1, h / hkv, 1, 1]));
        return _g.Op("Reshape", expanded, C64("gqa_merge", [0, h, -1, d]));
    }

    /// <summary>RMSNorm: w · x / √(mean(x²) + ε) (Zhang &amp; Sennrich 2019; HF LlamaRMSNorm).</summary>
    private string RmsNorm(string x, string weight)
    {
        var ms = _g.Op("ReduceMean", [_g.Op("Mul", x, x)], null, Ints("axes", -1), Int("keepdims", 1));
        var inv = _g.Op("Reciprocal", _g.Op("Sqrt", _g.Op("Add", ms, Const("rms_eps", (float)_s.NormEps))));
        return _g.Op("Mul", Weight(weight), _g.Op("Mul", x, inv));
    }

    private string LayerNorm(string x, string module) =>
        _g.Op("LayerNormalization", [x, Weight(module + ".weight"), Weight(module + ".bias")], null, Int("axis", -1), Float("epsilon", (float)_s.NormEps));

    /// <summary>gelu_new = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (GPT-2).</summary>
    private string GeluNew(string x, int layer)
    {
        var cube = _g.Op("Mul", _g.Op("Mul", x, x), x);
        var inner = _g.Op("Mul", _g.Op("Add", x, _g.Op("Mul", cube, Const("gelu_c", 0.044715f))), Const("gelu_k", (float)Math.Sqrt(2 / Math.PI)));
        var t = _g.Op("Add", _g.Op("Tanh", inner), Const("one_f2", 1f));
        return _g.Op("Mul", _g.Op("Mul", x, t), Const("half_f", 0.5f));
    }

    private string Const(string name, float value) =>
        _g.Graph.Initializer.Any(i => i.Name == name) ? name : _g.ConstFloat(name, [value]);
}
