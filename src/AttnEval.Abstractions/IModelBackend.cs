namespace AttnEval.Abstractions;

/// <summary>A model backend (<c>torchsharp</c>, <c>onnx</c>, ...), registered by a backend plugin.</summary>
public interface IModelBackend
{
    /// <summary>Backend name used in recipes (<c>model.backend</c>).</summary>
    string Name { get; }

    /// <summary>Honest availability check for a device, e.g. false with
    /// "CUDA requested but TorchSharp-cuda-linux is not installed".</summary>
    bool IsAvailable(string device, out string reason);

    /// <summary>Loads a model.</summary>
    /// <exception cref="ModelLoadException">A missing or malformed file; the message names the file and what was expected.</exception>
    ILanguageModel Load(ModelSource source, CancellationToken cancellationToken = default);

    /// <summary>The keys <see cref="ModelSource.Options"/> (<c>model.options</c> of a recipe) may hold, with type, default,
    /// range and description; recipe validation rejects any other key and checks the values (contract 1.2; default: none).</summary>
    IReadOnlyList<OptionSpec> Options => [];
}
