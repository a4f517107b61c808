using TorchSharp;
using static TorchSharp.torch;

namespace AttnEval.Backends.TorchSharp.Modeling;

/// <summary><see cref="ICausalDecoder"/> over <see cref="LlamaForCausalLM"/>.</summary>
internal sealed class LlamaDecoder(LlamaForCausalLM model) : ICausalDecoder
{
    public string Architecture => "llama";
    public int Layers => model.Config.NumHiddenLayers;
    public int Heads => model.Config.NumAttentionHeads;
    public int KvHeads => model.Config.NumKeyValueHeads;
    public int HeadDim => model.Config.HeadDim;
    public int DModel => model.Config.HiddenSize;
    public int VocabSize => model.Config.VocabSize;
    public int ContextLength => model.Config.MaxPositionEmbeddings;
    public nn.Module Module => model;
    public Tensor Logits(Tensor ids, Tensor? positions, Tensor? mask, KvCache? cache, CallControl? control) => model.Run(ids, positions, mask, cache, control);
    public void Dispose() => model.Dispose();
}

/// <summary><see cref="ICausalDecoder"/> over <see cref="Gpt2LMHeadModel"/>.</summary>
internal sealed class Gpt2Decoder(Gpt2LMHeadModel model) : ICausalDecoder
{
    public string Architecture => "gpt2";
    public int Layers => model.Config.NLayer;
    public int Heads => model.Config.NHead;
    public int KvHeads => model.Config.NHead;
    public int HeadDim => model.Config.NEmbd / model.Config.NHead;
    public int DModel => model.Config.NEmbd;
    public int VocabSize => model.Config.VocabSize;
    public int ContextLength => model.Config.NPositions;
    public nn.Module Module => model;
    public Tensor Logits(Tensor ids, Tensor? positions, Tensor? mask, KvCache? cache, CallControl? control) => model.Run(ids, positions, mask, cache, control);
    public void Dispose() => model.Dispose();
}
