using TorchSharp;
using static TorchSharp.torch;

namespace AttnEval.Backends.TorchSharp.Modeling;

/// <summary>What the language-model wrapper needs from a decoder architecture.</summary>
internal interface ICausalDecoder : IDisposable
{
    /// <summary>Architecture name (<c>llama</c>, <c>gpt2</c>).</summary>
    string Architecture { get; }
    int Layers { get; }
    int Heads { get; }
    int KvHeads { get; }
    int HeadDim { get; }
    int DModel { get; }
    int VocabSize { get; }
    int ContextLength { get; }

    /// <summary>Float32 logits <c>[B, T, V]</c> for ids <c>[B, T]</c> at absolute positions <c>cache.Length ..</c> (0 without cache).</summary>
    Tensor Logits(Tensor ids, KvCache? cache, CallControl? control) => Logits(ids, null, null, cache, control);

    /// <summary>Float32 logits <c>[B, T, V]</c> for ids <c>[B, T]</c> at the given positions (int64 <c>[B, T]</c>; when null
    /// <c>cache.Length ..</c>) with an extra attention mask (bool, true = may attend, broadcastable to <c>[B, H, T, Tk]</c>,
    /// combined with the causal mask; none when null).</summary>
    Tensor Logits(Tensor ids, Tensor? positions, Tensor? mask, KvCache? cache, CallControl? control);

    /// <summary>The module (for dtype/device moves and evaluation mode).</summary>
    nn.Module Module { get; }
}
