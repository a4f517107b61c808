namespace AttnEval.Abstractions;

/// <summary>
/// A loaded decoder language model (DESIGN.md §4). Implementations are not required to be thread-safe;
/// the host calls one model from one thread at a time.
/// </summary>
public interface ILanguageModel : IDisposable
{
    /// <summary>Shape, dtype and device of the model.</summary>
    ModelInfo Info { get; }

    /// <summary>The model's tokenizer.</summary>
    ITokenizer Tokenizer { get; }

    /// <summary>Interventions this model can apply (types of <see cref="HeadIntervention"/>); a request with another kind throws <see cref="NotSupportedException"/>.</summary>
    IReadOnlySet<Type> SupportedInterventions { get; }

    /// <summary>True when the model can deliver attention rows to <see cref="IAttentionRowReducer"/>s.</summary>
    bool SupportsAttentionCapture { get; }

    /// <summary>True when <see cref="Score"/> honours <see cref="ScoreRequest.CaptureFinalHidden"/> (the final normalised
    /// residual stream, TransformerLens <c>ln_final.hook_normalized</c>). False by default; added in contract 1.1.</summary>
    bool SupportsFinalHidden => false;

    /// <summary>Continues a prompt with a KV cache. Deterministic for a given request, seed and device.</summary>
    /// <exception cref="ArgumentException">Empty prompt, prompt longer than the context, bad settings.</exception>
    /// <exception cref="NotSupportedException">Captures or an intervention the model cannot provide (the message names the missing output).</exception>
    GenerationResult Generate(GenerationRequest request, CancellationToken cancellationToken = default);

    /// <summary>Teacher-forced scoring: log-probabilities and entropies of <c>Tokens[From..]</c> given their prefixes.</summary>
    /// <exception cref="ArgumentException"><c>From</c> outside [1, Tokens.Count] or too long a sequence.</exception>
    /// <exception cref="NotSupportedException">See <see cref="Generate"/>.</exception>
    TokenScores Score(ScoreRequest request, CancellationToken cancellationToken = default);
}

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

/// <summary>A model could not be loaded; the message names the file, the tensor or key, and what was expected.</summary>
public sealed class ModelLoadException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ModelLoadException(string message, Exception? inner = null) : base(message, inner) { }
}
