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
    Tensor Logits(Tensor ids, KvCache? cache, CallControl? control);

    /// <summary>The module (for dtype/device moves and evaluation mode).</summary>
    nn.Module Module { get; }
}
