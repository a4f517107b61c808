using System.Text.Json;
using AttnEval.Abstractions;
using AttnEval.ModelFiles;

namespace AttnEval.Backends.Onnx;

/// <summary>
/// Shape facts of an ONNX model folder that the graph alone does not give (query heads, d_model, context length,
/// BOS/EOS): read from the Hugging Face <c>config.json</c> (llama/mistral/qwen2 or gpt2 keys) and then from
/// onnxruntime-genai's <c>genai_config.json</c> (<c>model.decoder.*</c>, <c>model.context_length</c>), first found wins.
/// </summary>
internal sealed record ModelDescription(string Architecture, int Heads, int DModel, int ContextLength, int VocabSize, int? BosId, IReadOnlyList<int> EosIds)
{
    /// <exception cref="ModelLoadException">Neither file gives the number of heads or the vocabulary.</exception>
    public static ModelDescription Read(string dir, DecoderGraph graph)
    {
        var hf = File.Exists(Path.Combine(dir, "config.json")) ? ConfigReader.Open(Path.Combine(dir, "config.json")) : null;
        ConfigReader? genai = null, decoder = null;
        var genaiPath = Path.Combine(dir, "genai_config.json");
        if (File.Exists(genaiPath) && ConfigReader.Open(genaiPath).Element("model") is { ValueKind: JsonValueKind.Object } m)
        {
            genai = new ConfigReader(m, genaiPath + " (model)");
            if (genai.Element("decoder") is { ValueKind: JsonValueKind.Object } d) decoder = new ConfigReader(d, genaiPath + " (model.decoder)");
        }
        int? Int(params (ConfigReader? R, string Key)[] keys)
        {
            foreach (var (r, k) in keys) if (r is not null && r.Element(k) is { ValueKind: JsonValueKind.Number }) return r.Int(k);
            return null;
        }
        IReadOnlyList<int> Ids(string key) => hf?.Ids(key) is { Count: > 0 } a ? a : genai?.Ids(key) ?? [];
        string where = $"{dir} (config.json or genai_config.json)";
        var arch = hf?.String("model_type") ?? (genai?.Element("type") is { ValueKind: JsonValueKind.String } t ? t.GetString()! : "unknown");
        int heads = Int((hf, "num_attention_heads"), (hf, "n_head"), (decoder, "num_attention_heads"))
            ?? (graph.Layout == KvLayout.Stacked && graph.KvHeads > 0 ? graph.KvHeads : throw new ModelLoadException($"{where}: the number of query heads is not given (expected num_attention_heads, n_head or model.decoder.num_attention_heads)."));
        int headDim = graph.HeadDim > 0 ? graph.HeadDim : Int((hf, "head_dim"), (decoder, "head_size")) ?? -1;
        int dModel = Int((hf, "hidden_size"), (hf, "n_embd"), (decoder, "hidden_size")) ?? (headDim > 0 ? heads * headDim : throw new ModelLoadException($"{where}: hidden size not given (expected hidden_size or n_embd)."));
        int vocab = graph.Vocab > 0 ? graph.Vocab : Int((hf, "vocab_size"), (genai, "vocab_size")) ?? throw new ModelLoadException($"{where}: vocab_size not given and the logits shape is symbolic.");
        int context = Int((hf, "max_position_embeddings"), (hf, "n_positions"), (genai, "context_length")) ?? throw new ModelLoadException($"{where}: context length not given (expected max_position_embeddings, n_positions or model.context_length).");
        var bos = Ids("bos_token_id");
        return new ModelDescription(arch, heads, dModel, context, vocab, bos.Count > 0 ? bos[0] : null, Ids("eos_token_id"));
    }
}
