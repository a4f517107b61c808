namespace AttnEval.Core.Running;

/// <summary>A run cannot start because of its input (recipe, dataset, model, device); the CLI exits with code 2.
/// Thrown before anything is written, or — for a model that fails to load — before any sample is run.</summary>
public sealed class RunInputException : Exception
{
    /// <summary>Creates the exception with a one-line message naming the file/position and what was expected.</summary>
    public RunInputException(string message, Exception? inner = null) : base(message, inner) { }
}
