namespace AttnEval.Abstractions;

/// <summary>A model could not be loaded; the message names the file, the tensor or key, and what was expected.</summary>
public sealed class ModelLoadException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ModelLoadException(string message, Exception? inner = null) : base(message, inner) { }
}
