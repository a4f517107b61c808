using System.Text.Json.Nodes;
using AttnEval.ModelFiles.Weights;

namespace AttnEval.TestSupport;

/// <summary>
/// Random-weight Hugging Face checkpoints with the real configurations of models users bring (issue 13: Llama-3.2-1B,
/// Qwen2.5-0.5B, Mistral-7B-v0.3, GPT-2 124M), written tensor by tensor (constant memory) with deterministic values:
/// real hidden sizes, head counts, GQA ratios, RoPE settings and vocabulary sizes; optionally fewer layers.
/// </summary>
public static class RandomCheckpoints
{
    /// <summary>The real <c>config.json</c> of a model family (values as published on the Hugging Face Hub).</summary>
    /// <param name="name"><c>llama-3.2-1b</c>, <c>qwen2.5-0.5b</c>, <c>mistral-7b-v0.3</c>, <c>gpt2</c> or <c>llama-110m</c>
    /// (llama2.c's stories110M shape: d 768, 12 layers, 12 heads, vocab 32000, shared classifier).</param>
    public static JsonObject Config(string name) => name switch
    {
        "llama-3.2-1b" => new JsonObject
        {
            ["architectures"] = new JsonArray("LlamaForCausalLM"), ["model_type"] = "llama", ["vocab_size"] = 128256, ["hidden_size"] = 2048,
            ["intermediate_size"] = 8192, ["num_hidden_layers"] = 16, ["num_attention_heads"] = 32, ["num_key_value_heads"] = 8, ["head_dim"] = 64,
            ["hidden_act"] = "silu", ["max_position_embeddings"] = 131072, ["rms_norm_eps"] = 1e-5, ["rope_theta"] = 500000.0,
            ["rope_scaling"] = new JsonObject { ["factor"] = 32.0, ["high_freq_factor"] = 4.0, ["low_freq_factor"] = 1.0, ["original_max_position_embeddings"] = 8192, ["rope_type"] = "llama3" },
            ["tie_word_embeddings"] = true, ["attention_bias"] = false, ["mlp_bias"] = false, ["bos_token_id"] = 128000, ["eos_token_id"] = 128001, ["torch_dtype"] = "bfloat16",
        },
        "qwen2.5-0.5b" => new JsonObject
        {
            ["architectures"] = new JsonArray("Qwen2ForCausalLM"), ["model_type"] = "qwen2", ["vocab_size"] = 151936, ["hidden_size"] = 896,
            ["intermediate_size"] = 4864, ["num_hidden_layers"] = 24, ["num_attention_heads"] = 14, ["num_key_value_heads"] = 2,
            ["hidden_act"] = "silu", ["max_position_embeddings"] = 32768, ["rms_norm_eps"] = 1e-6, ["rope_theta"] = 1000000.0,
            ["sliding_window"] = 32768, ["use_sliding_window"] = false, ["tie_word_embeddings"] = true, ["bos_token_id"] = 151643, ["eos_token_id"] = 151643, ["torch_dtype"] = "bfloat16",
        },
        "mistral-7b-v0.3" => new JsonObject
        {
            ["architectures"] = new JsonArray("MistralForCausalLM"), ["model_type"] = "mistral", ["vocab_size"] = 32768, ["hidden_size"] = 4096,
            ["intermediate_size"] = 14336, ["num_hidden_layers"] = 32, ["num_attention_heads"] = 32, ["num_key_value_heads"] = 8, ["head_dim"] = 128,
            ["hidden_act"] = "silu", ["max_position_embeddings"] = 32768, ["rms_norm_eps"] = 1e-5, ["rope_theta"] = 1000000.0,
            ["sliding_window"] = null, ["tie_word_embeddings"] = false, ["bos_token_id"] = 1, ["eos_token_id"] = 2, ["torch_dtype"] = "bfloat16",
        },
        "gpt2" => new JsonObject
        {
            ["architectures"] = new JsonArray("GPT2LMHeadModel"), ["model_type"] = "gpt2", ["vocab_size"] = 50257, ["n_embd"] = 768, ["n_layer"] = 12,
            ["n_head"] = 12, ["n_positions"] = 1024, ["n_ctx"] = 1024, ["activation_function"] = "gelu_new", ["layer_norm_epsilon"] = 1e-5,
            ["bos_token_id"] = 50256, ["eos_token_id"] = 50256,
        },
        "llama-110m" => new JsonObject
        {
            ["architectures"] = new JsonArray("LlamaForCausalLM"), ["model_type"] = "llama", ["vocab_size"] = 32000, ["hidden_size"] = 768,
            ["intermediate_size"] = 2048, ["num_hidden_layers"] = 12, ["num_attention_heads"] = 12, ["num_key_value_heads"] = 12,
            ["hidden_act"] = "silu", ["max_position_embeddings"] = 1024, ["rms_norm_eps"] = 1e-5, ["rope_theta"] = 10000.0,
            ["tie_word_embeddings"] = true, ["bos_token_id"] = 1, ["eos_token_id"] = 2, ["torch_dtype"] = "float32",
        },
        _ => throw new ArgumentException($"unknown model '{name}'", nameof(name)),
    };

    /// <summary>Writes <c>config.json</c> and <c>model.safetensors</c> for <paramref name="config"/> into <paramref name="dir"/>.</summary>
    /// <param name="dir">Folder (created).</param>
    /// <param name="config">A config from <see cref="Config"/> (or any llama/mistral/qwen2/gpt2 config).</param>
    /// <param name="dtype"><c>F32</c>, <c>F16</c> or <c>BF16</c>.</param>
    /// <param name="layers">Number of layers to keep (the config is rewritten), or null for all.</param>
    /// <param name="seed">Seed of the values.</param>
    /// <returns>Bytes of tensor data written.</returns>
    public static long Write(string dir, JsonObject config, string dtype, int? layers = null, ulong seed = 1)
    {
        Directory.CreateDirectory(dir);
        config = config.DeepClone().AsObject();
        bool gpt2 = (string)config["model_type"]! == "gpt2";
        if (layers is { } n) config[gpt2 ? "n_layer" : "num_hidden_layers"] = n;
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
        var tensors = gpt2 ? Gpt2Tensors(config, dtype, seed) : LlamaTensors(config, dtype, seed);
        SafetensorsWriter.Write(Path.Combine(dir, "model.safetensors"), tensors);
        return tensors.Sum(t => t.Count * t.Width);
    }

    private static List<SafetensorsTensor> LlamaTensors(JsonObject c, string dtype, ulong seed)
    {
        int V = (int)c["vocab_size"]!, d = (int)c["hidden_size"]!, ff = (int)c["intermediate_size"]!, L = (int)c["num_hidden_layers"]!;
        int H = (int)c["num_attention_heads"]!, Hkv = (int?)c["num_key_value_heads"] ?? H, hd = (int?)c["head_dim"] ?? d / H;
        bool bias = (string)c["model_type"]! == "qwen2" || (bool?)c["attention_bias"] == true;
        var list = new List<SafetensorsTensor>();
        void Add(string name, float scale, params int[] shape) => list.Add(Random(name, dtype, shape, scale, seed));
        Add("model.embed_tokens.weight", 0.02f, V, d);
        for (int l = 0; l < L; l++)
        {
            var p = $"model.layers.{l}.";
            list.Add(Constant(p + "input_layernorm.weight", dtype, 1f, d));
            Add(p + "self_attn.q_proj.weight", 0.02f, H * hd, d);
            Add(p + "self_attn.k_proj.weight", 0.02f, Hkv * hd, d);
            Add(p + "self_attn.v_proj.weight", 0.02f, Hkv * hd, d);
            if (bias)
            {
                Add(p + "self_attn.q_proj.bias", 0.02f, H * hd);
                Add(p + "self_attn.k_proj.bias", 0.02f, Hkv * hd);
                Add(p + "self_attn.v_proj.bias", 0.02f, Hkv * hd);
            }
            Add(p + "self_attn.o_proj.weight", 0.02f, d, H * hd);
            list.Add(Constant(p + "post_attention_layernorm.weight", dtype, 1f, d));
            Add(p + "mlp.gate_proj.weight", 0.02f, ff, d);
            Add(p + "mlp.up_proj.weight", 0.02f, ff, d);
            Add(p + "mlp.down_proj.weight", 0.02f, d, ff);
        }
        list.Add(Constant("model.norm.weight", dtype, 1f, d));
        if ((bool?)c["tie_word_embeddings"] != true) Add("lm_head.weight", 0.02f, V, d);
        return list;
    }

    private static List<SafetensorsTensor> Gpt2Tensors(JsonObject c, string dtype, ulong seed)
    {
        int V = (int)c["vocab_size"]!, d = (int)c["n_embd"]!, L = (int)c["n_layer"]!, P = (int)c["n_positions"]!;
        var list = new List<SafetensorsTensor>();
        void Add(string name, float scale, params int[] shape) => list.Add(Random(name, dtype, shape, scale, seed));
        Add("wte.weight", 0.02f, V, d);
        Add("wpe.weight", 0.01f, P, d);
        for (int l = 0; l < L; l++)
        {
            var p = $"h.{l}.";
            list.Add(Constant(p + "ln_1.weight", dtype, 1f, d)); list.Add(Constant(p + "ln_1.bias", dtype, 0f, d));
            Add(p + "attn.c_attn.weight", 0.02f, d, 3 * d); Add(p + "attn.c_attn.bias", 0.02f, 3 * d);
            Add(p + "attn.c_proj.weight", 0.02f, d, d); Add(p + "attn.c_proj.bias", 0.02f, d);
            list.Add(Constant(p + "ln_2.weight", dtype, 1f, d)); list.Add(Constant(p + "ln_2.bias", dtype, 0f, d));
            Add(p + "mlp.c_fc.weight", 0.02f, d, 4 * d); Add(p + "mlp.c_fc.bias", 0.02f, 4 * d);
            Add(p + "mlp.c_proj.weight", 0.02f, 4 * d, d); Add(p + "mlp.c_proj.bias", 0.02f, d);
        }
        list.Add(Constant("ln_f.weight", dtype, 1f, d)); list.Add(Constant("ln_f.bias", dtype, 0f, d));
        return list;
    }

    private static SafetensorsTensor Constant(string name, string dtype, float value, params int[] shape) =>
        new(name, dtype, shape, (_, span) => span.Fill(value));

    /// <summary>Uniform values of standard deviation <paramref name="std"/> from a SplitMix64 stream keyed by the tensor name.</summary>
    private static SafetensorsTensor Random(string name, string dtype, int[] shape, float std, ulong seed)
    {
        ulong key = seed;
        foreach (var ch in name) key = (key ^ ch) * 0x100000001B3UL;
        float a = std * MathF.Sqrt(3f);
        return new(name, dtype, shape, (first, span) =>
        {
            for (int i = 0; i < span.Length; i++)
            {
                ulong z = key + (ulong)(first + i) * 0x9E3779B97F4A7C15UL;
                z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
                z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
                z ^= z >> 31;
                span[i] = ((z >> 40) / (float)(1UL << 24) * 2f - 1f) * a;
            }
        });
    }

    /// <summary>Writes a llama2.c checkpoint with the shape of <paramref name="config"/> (a llama config), fp32, deterministic
    /// values, untied classifier unless the config ties it: version 1 (256-byte header) or the legacy version 0 that
    /// llama2.c's <c>run.c</c> reads (7-int header, <c>freq_cis</c> tables written as zeros).</summary>
    /// <param name="path">Output file.</param>
    /// <param name="config">A llama config.</param>
    /// <param name="version">1 or 0.</param>
    /// <param name="seed">Seed of the values.</param>
    /// <param name="silenceBosEos">Zero the embedding rows of ids 1 and 2 (BOS/EOS of the Llama 2 vocabulary), so a tied
    /// random model never picks them greedily and a benchmark runs its full length (run.c stops at BOS).</param>
    /// <returns>Bytes of tensor data written (the freq_cis tables excluded).</returns>
    public static long WriteLlama2c(string path, JsonObject config, int version = 1, ulong seed = 1, bool silenceBosEos = false)
    {
        int V = (int)config["vocab_size"]!, d = (int)config["hidden_size"]!, ff = (int)config["intermediate_size"]!, L = (int)config["num_hidden_layers"]!;
        int H = (int)config["num_attention_heads"]!, Hkv = (int?)config["num_key_value_heads"] ?? H, T = (int)config["max_position_embeddings"]!;
        bool shared = (bool?)config["tie_word_embeddings"] == true;
        int kv = d / H * Hkv;
        using var s = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        if (version == 1)
        {
            var header = new byte[256];
            BitConverter.GetBytes(0x616b3432u).CopyTo(header, 0);
            int[] fields = [1, d, ff, L, H, Hkv, V, T];
            for (int i = 0; i < fields.Length; i++) BitConverter.GetBytes(fields[i]).CopyTo(header, 4 + 4 * i);
            header[36] = (byte)(shared ? 1 : 0);
            s.Write(header);
        }
        else
        {
            foreach (var f in new[] { d, ff, L, H, Hkv, shared ? V : -V, T }) s.Write(BitConverter.GetBytes(f));
        }
        long written = 0;
        var buf = new float[1 << 20];
        var bytes = new byte[4 << 20];
        void Emit(string name, long count, float std, float? constant = null, bool counted = true)
        {
            var t = constant is { } c ? Constant(name, "F32", c, 1) : Random(name, "F32", [1], std, seed);
            for (long first = 0; first < count; first += buf.Length)
            {
                int n = (int)Math.Min(buf.Length, count - first);
                t.Fill(first, buf.AsSpan(0, n));
                if (name == "emb" && silenceBosEos)
                    for (long k = Math.Max(first, d); k < Math.Min(first + n, 3L * d); k++) buf[k - first] = 0;
                Buffer.BlockCopy(buf, 0, bytes, 0, n * 4);
                s.Write(bytes, 0, n * 4);
            }
            if (counted) written += 4 * count;
        }
        if (version == 1)
        {
            Emit("rms_att", (long)L * d, 0, 1f); Emit("rms_ffn", (long)L * d, 0, 1f); Emit("rms_final", d, 0, 1f);
            Emit("emb", (long)V * d, 0.02f);
            Emit("wq", (long)L * d * d, 0.02f); Emit("wk", (long)L * kv * d, 0.02f); Emit("wv", (long)L * kv * d, 0.02f); Emit("wo", (long)L * d * d, 0.02f);
            Emit("w1", (long)L * ff * d, 0.02f); Emit("w2", (long)L * d * ff, 0.02f); Emit("w3", (long)L * ff * d, 0.02f);
        }
        else
        {
            Emit("emb", (long)V * d, 0.02f); Emit("rms_att", (long)L * d, 0, 1f);
            Emit("wq", (long)L * d * d, 0.02f); Emit("wk", (long)L * kv * d, 0.02f); Emit("wv", (long)L * kv * d, 0.02f); Emit("wo", (long)L * d * d, 0.02f);
            Emit("rms_ffn", (long)L * d, 0, 1f);
            Emit("w1", (long)L * ff * d, 0.02f); Emit("w2", (long)L * d * ff, 0.02f); Emit("w3", (long)L * ff * d, 0.02f);
            Emit("rms_final", d, 0, 1f);
            Emit("freq_cis", (long)T * (d / H), 0, 0f, counted: false);   // real and imaginary halves, unused by readers
        }
        if (!shared) Emit("wcls", (long)V * d, 0.02f);
        return written;
    }
}
