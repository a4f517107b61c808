using AttnEval.Abstractions;

namespace AttnEval.Backends.TorchSharp;

/// <summary>placeholder</summary>
public sealed class TorchSharpBackend : IModelBackend
{
    /// <inheritdoc />
    public string Name => "torchsharp";
    /// <inheritdoc />
    public bool IsAvailable(string device, out string reason) { reason = ""; return true; }
    /// <inheritdoc />
    public ILanguageModel Load(ModelSource source, CancellationToken cancellationToken = default) => throw new NotImplementedException();
}
